"""Known work held still in the KPIs service, for the tests of what reports lag and backlog: on
an idle system every figure is 0, which a report that never looks would show as well.

While held: KPI values for one KPI wait behind a lock on its row (the ingest batch that took
some of them waits for the lock, unacknowledged; the rest wait in the stream, undelivered), and
a few outbox rows wait unpublished (their `created_at` is an hour ahead: the relay's sweep
takes only rows some seconds old, and its fast path only what its own process committed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats
from nats.js import JetStreamContext
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_kpis import models as kpis_models
from okr_kpis.ingest import CONSUMER
from okr_kpis.models import Kpi
from okr_objectives import models as objectives_models
from okr_progress import models as progress_models
from okr_shared import subjects
from tests.support.system import RunningSystem, eventually

VALUES = 600  # more than one ingest batch (500): some are delivered, some must wait
EVENTS = 3
OUTBOXES: dict[str, Table] = {
    "objectives": objectives_models.outbox,
    "kpis": kpis_models.outbox,
    "progress": progress_models.outbox,
}


@dataclass(frozen=True)
class Held:
    """What NATS and the database themselves say is waiting, once it stands still."""

    pending: int  # values in the stream, not delivered to the consumer
    unacknowledged: int  # values delivered to the consumer, not acknowledged
    unpublished: int  # rows of kpis.outbox not yet published


async def _consumer(js: JetStreamContext) -> tuple[int, int]:
    info = await js.consumer_info(subjects.KPI_VALUES.name, CONSUMER)
    return info.num_pending or 0, info.num_ack_pending or 0


async def unpublished(engine: AsyncEngine, service: str = "kpis") -> int:
    """Rows of that service's outbox not yet published, as the database counts them."""
    table = OUTBOXES[service]
    async with engine.connect() as db:
        found = await db.scalar(
            select(func.count()).select_from(table).where(table.c.published_at.is_(None))
        )
    return int(found or 0)


@contextlib.asynccontextmanager
async def work_held_in_kpis(system: RunningSystem, kpi_id: int) -> AsyncIterator[Held]:
    client = await nats.connect(system.nats_url)
    js = client.jetstream()
    event_ids = [uuid.uuid4() for _ in range(EVENTS)]
    outbox = OUTBOXES["kpis"]

    async def idle() -> bool:
        return await _consumer(js) == (0, 0) and await unpublished(system.engine) == 0

    try:
        await eventually(idle, timeout_s=10)
        async with system.engine.begin() as db:
            await db.execute(
                insert(outbox),
                [
                    {
                        "event_id": event_id,
                        "subject": "test.held",
                        "payload": b"{}",
                        "created_at": datetime.now(UTC) + timedelta(hours=1),
                    }
                    for event_id in event_ids
                ],
            )
        async with system.engine.begin() as lock:
            await lock.execute(select(Kpi.id).where(Kpi.id == kpi_id).with_for_update())
            subject = subjects.kpi_value_subject(kpi_id)
            await asyncio.gather(
                *(js.publish(subject, json.dumps({"value": n}).encode()) for n in range(VALUES))
            )
            seen: list[tuple[int, int]] = []

            async def standing_still() -> tuple[int, int] | None:
                """The consumer holds some and all are counted, the same twice in a row."""
                now = await _consumer(js)
                still = seen[-1:] == [now] and now[1] > 0 and sum(now) == VALUES
                seen.append(now)
                return now if still else None

            pending, unacknowledged = await eventually(standing_still, timeout_s=10)
            yield Held(pending, unacknowledged, await unpublished(system.engine))
    finally:
        async with system.engine.begin() as db:
            await db.execute(delete(outbox).where(outbox.c.event_id.in_(event_ids)))
        await client.close()
