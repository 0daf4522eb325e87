"""The objectives service shows the rollups the progress service publishes on PROGRESS, so every
read (detail, list, tree, stats, Gantt) has the current progress."""

from __future__ import annotations

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_objectives import repository
from okr_shared import channels, subjects
from okr_shared.consumer import BatchConsumer, Delivery
from okr_shared.contracts.progress import ObjectiveProgressUpdated

CONSUMER = "objectives-progress"


def _objective_id(update: ObjectiveProgressUpdated) -> int:
    return update.objective_id


def rollups_consumer(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> BatchConsumer[ObjectiveProgressUpdated]:
    async def handle(batch: list[Delivery[ObjectiveProgressUpdated]]) -> None:
        newest: dict[int, ObjectiveProgressUpdated] = {}
        for delivery in batch:
            update = delivery.event
            held = newest.get(update.objective_id)
            if held is None or held.version < update.version:
                newest[update.objective_id] = update
        async with sessions.begin() as session:
            # In id order, the order a subtree's writes mostly lock in: fewer deadlocks.
            await repository.apply_rollups(session, sorted(newest.values(), key=_objective_id))

    return BatchConsumer(
        client,
        stream=subjects.PROGRESS,
        durable=CONSUMER,
        filter_subject=subjects.PROGRESS_UPDATES,
        payload=ObjectiveProgressUpdated,
        handle=handle,
        batch_size=500,
        channels=[channels.PROGRESS_UPDATED],
    )
