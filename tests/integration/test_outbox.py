"""The outbox on a real NATS server and database: what a process commits is published at once
from memory; what it rolls back never is; what another process left unsent is swept up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from sqlalchemy import insert, select

from okr_progress import models, service
from okr_shared import subjects
from okr_shared.contracts.progress import CalculationMethod, ObjectiveProgressUpdated
from okr_shared.db import make_engine, make_sessionmaker
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.streams import ensure_streams


def update(objective_id: int) -> ObjectiveProgressUpdated:
    return ObjectiveProgressUpdated(
        objective_id=objective_id,
        progress_percentage=50.0,
        calculation_method=CalculationMethod.MANUAL,
        child_count=0,
        kpi_count=0,
        last_calculated=datetime.now(UTC),
        version=1,
    )


@pytest.fixture
async def world(own_world: tuple[str, str]) -> AsyncIterator[tuple[JetStreamContext, Outbox, Any]]:
    client = await nats.connect(own_world[0])
    js = client.jetstream()
    await ensure_streams(js)
    engine = make_engine(own_world[1], pool_size=2)
    sessions = make_sessionmaker(engine)
    outbox = Outbox(models.outbox, publishes=service.PUBLISHES)
    relay = OutboxRelay(
        outbox, sessions, js, poll_interval_s=0.1, sweep_after_s=1.0, mark_every_s=0.3
    )
    await relay.start()
    yield js, outbox, sessions
    await relay.stop()
    await engine.dispose()
    await client.close()


async def published(js: JetStreamContext) -> list[int]:
    info = await js.stream_info(subjects.PROGRESS.name)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        msg = await js.get_msg(subjects.PROGRESS.name, seq)
        found.append(ObjectiveProgressUpdated.model_validate_json(msg.data).objective_id)
    return found


async def test_committed_events_go_out_at_once_and_rolled_back_ones_never(
    world: tuple[JetStreamContext, Outbox, Any],
) -> None:
    js, outbox, sessions = world
    async with sessions.begin() as session:
        await outbox.add_each(session, [(subjects.progress_subject(1), update(1))])
    async with sessions() as session:
        await session.begin()
        await outbox.add_each(session, [(subjects.progress_subject(2), update(2))])
        await session.rollback()
    await asyncio.sleep(0.6)  # marked after 0.3 s; under the sweep's 1 s: only the fast path
    assert await published(js) == [1]
    async with sessions() as session:
        unsent = await session.scalar(
            select(models.outbox.c.seq).where(models.outbox.c.published_at.is_(None))
        )
    assert unsent is None


async def test_a_trickle_of_commits_is_marked_sent_together(
    world: tuple[JetStreamContext, Outbox, Any],
) -> None:
    """One commit after another, each published at once, but marked sent in one statement
    rather than one transaction per commit (which cost as much as the commit itself)."""
    js, outbox, sessions = world
    for objective_id in range(10, 16):
        async with sessions.begin() as session:
            await outbox.add_each(
                session, [(subjects.progress_subject(objective_id), update(objective_id))]
            )
        await asyncio.sleep(0.03)
    assert await published(js) == list(range(10, 16))
    await asyncio.sleep(0.5)
    async with sessions() as session:
        marks = (await session.execute(select(models.outbox.c.published_at))).scalars().all()
    assert len(marks) == 6 and None not in marks
    assert len(set(marks)) <= 2  # one statement's now(), or two if the interval fell between


async def test_rows_another_process_left_unsent_are_swept_up(
    world: tuple[JetStreamContext, Outbox, Any],
) -> None:
    js, _, sessions = world
    event = update(3)
    async with sessions.begin() as session:  # as if committed by a process that then died
        await session.execute(
            insert(models.outbox).values(
                event_id=event.event_id,
                subject=subjects.progress_subject(3),
                payload=event.model_dump_json().encode(),
            )
        )
    await asyncio.sleep(0.5)
    assert await published(js) == []  # too young for the sweep, and no fast path had it
    await asyncio.sleep(1.5)
    assert await published(js) == [3]
