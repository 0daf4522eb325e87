"""JetStream consumers of the progress service: a batch in, one transaction, then the acks."""

from __future__ import annotations

from nats.js import JetStreamContext
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_progress import service
from okr_shared import subjects
from okr_shared.consumer import BatchConsumer, Delivery
from okr_shared.contracts.objective_events import ObjectiveEvent

OBJECTIVE_EVENTS_CONSUMER = "progress-objective-events"


def objective_events_consumer(
    js: JetStreamContext, sessions: async_sessionmaker[AsyncSession]
) -> BatchConsumer[ObjectiveEvent]:
    async def handle(batch: list[Delivery[ObjectiveEvent]]) -> None:
        async with sessions.begin() as session:
            await service.apply_objective_events(session, (d.event for d in batch))

    return BatchConsumer(
        js,
        stream=subjects.OBJECTIVES,
        durable=OBJECTIVE_EVENTS_CONSUMER,
        filter_subject=subjects.OBJECTIVE_EVENTS,
        payload=TypeAdapter(ObjectiveEvent),
        handle=handle,
    )
