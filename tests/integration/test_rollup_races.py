"""Two progress workers interleaving at the worst moment, step by step, on real transactions.

A link to a KPI and a new value of that KPI, applied at the same time by two workers: whichever
order their statements run in, the newly linked objective must end up with the new value."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from okr_progress import models, service
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import (
    LinkState,
    ObjectiveCreated,
    ObjectiveEvent,
    ObjectiveKpiLinked,
    ObjectiveState,
)
from okr_shared.contracts.objectives import ObjectiveLevel, ObjectiveStatus
from okr_shared.db import make_engine, make_sessionmaker
from okr_shared.outbox import Outbox

COMPANY, TEAM, LINKED, NEWCOMER, KPI = 1, 2, 3, 4, 7


def state(oid: int, parent: int | None, level: ObjectiveLevel) -> ObjectiveState:
    return ObjectiveState(
        id=oid,
        parent_id=parent,
        level=level,
        status=ObjectiveStatus.ACTIVE,
        manual_progress=0.0,
        version=1,
    )


def kpi_event(progress: float, version: int) -> KpiProgressChanged:
    return KpiProgressChanged(
        kpi_id=KPI,
        progress=progress,
        value=progress,
        observed_at=datetime.now(UTC),
        active=True,
        version=version,
    )


def link(objective_id: int) -> ObjectiveKpiLinked:
    return ObjectiveKpiLinked(
        link=LinkState(objective_id=objective_id, kpi_id=KPI, weight=1.0, active=True, version=1)
    )


@pytest.fixture
async def engine(own_world: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(own_world[1], pool_size=4)
    sessions = make_sessionmaker(engine)
    outbox = Outbox(models.outbox, publishes=service.PUBLISHES)
    async with sessions.begin() as session:  # company > team > linked person, and a newcomer
        await service.apply_objective_events(
            session,
            outbox,
            [
                ObjectiveCreated(objective=state(COMPANY, None, ObjectiveLevel.COMPANY)),
                ObjectiveCreated(objective=state(TEAM, COMPANY, ObjectiveLevel.TEAM)),
                ObjectiveCreated(objective=state(LINKED, TEAM, ObjectiveLevel.INDIVIDUAL)),
                ObjectiveCreated(objective=state(NEWCOMER, TEAM, ObjectiveLevel.INDIVIDUAL)),
                link(LINKED),
            ],
        )
        await service.apply_kpi_events(session, outbox, [kpi_event(10.0, 1)])
    yield engine
    await engine.dispose()


async def progress(engine: AsyncEngine) -> dict[int, float]:
    async with engine.connect() as db:
        rows = await db.execute(text("SELECT id, progress FROM progress.objectives"))
        return {r.id: r.progress for r in rows}


Apply = Callable[[AsyncSession, Outbox], Awaitable[None]]


def objective_events(*events: ObjectiveEvent) -> Apply:
    return lambda session, outbox: service.apply_objective_events(session, outbox, events)


def kpi_events(*events: KpiProgressChanged) -> Apply:
    return lambda session, outbox: service.apply_kpi_events(session, outbox, events)


async def interleave(engine: AsyncEngine, first: Apply, second: Apply) -> dict[int, float]:
    """`first` runs and holds its transaction open; `second` runs meanwhile as far as it can;
    then `first` commits and `second` finishes. The stored progress afterwards."""
    sessions = make_sessionmaker(engine)
    outbox = Outbox(models.outbox, publishes=service.PUBLISHES)
    early = sessions()
    await early.begin()
    await first(early, outbox)

    async def run_second() -> None:
        async with sessions.begin() as session:
            await second(session, outbox)

    late = asyncio.create_task(run_second())
    await asyncio.sleep(0.5)  # let it run as far as it can while the first is uncommitted
    await early.commit()
    await early.close()
    await late
    return await progress(engine)


async def test_a_link_that_rolls_up_first_does_not_hide_a_value_applied_meanwhile(
    engine: AsyncEngine,
) -> None:
    """The link's worker has rolled up (with the old value) and not committed; the value's worker
    then stores the new value and looks for the objectives linking the KPI. It must find the
    newcomer: by waiting for the link to commit, or by being waited for."""
    rolled = await interleave(
        engine, objective_events(link(NEWCOMER)), kpi_events(kpi_event(90.0, 2))
    )
    assert rolled[NEWCOMER] == 90.0


async def test_a_value_that_rolls_up_first_is_read_by_a_link_applied_meanwhile(
    engine: AsyncEngine,
) -> None:
    rolled = await interleave(
        engine, kpi_events(kpi_event(90.0, 2)), objective_events(link(NEWCOMER))
    )
    assert rolled[NEWCOMER] == 90.0


LATE = 5  # an objective whose creation and link are applied by two workers at once


@pytest.mark.parametrize("link_first", [True, False])
async def test_a_link_and_the_creation_of_its_objective_at_once(
    engine: AsyncEngine, link_first: bool
) -> None:
    linking = objective_events(link(LATE))
    creating = objective_events(
        ObjectiveCreated(objective=state(LATE, TEAM, ObjectiveLevel.INDIVIDUAL))
    )
    order = (linking, creating) if link_first else (creating, linking)
    rolled = await interleave(engine, *order)
    assert rolled[LATE] == 10.0  # the KPI's value, not its manual 0
    assert rolled[TEAM] == (10.0 + 0.0 + 10.0) / 3  # linked, newcomer (manual 0), late


@pytest.mark.parametrize("parent_first", [True, False])
async def test_a_child_and_its_parent_created_at_once(
    engine: AsyncEngine, parent_first: bool
) -> None:
    parent = objective_events(
        ObjectiveCreated(objective=state(LATE, COMPANY, ObjectiveLevel.DIVISION))
    )
    child = objective_events(
        ObjectiveCreated(objective=state(LATE + 1, LATE, ObjectiveLevel.TEAM)), link(LATE + 1)
    )
    order = (parent, child) if parent_first else (child, parent)
    rolled = await interleave(engine, *order)
    assert rolled[LATE] == 10.0  # its one child's
    assert rolled[COMPANY] == (5.0 + 10.0) / 2  # the team (10 and 0) and the new division
