"""The progress service's NATS handlers: two durable batch consumers (objective events, KPI
progress) and request/reply for computing one objective's progress on demand and reading its
history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from faststream.nats import NatsBroker
from nats.aio.client import Client
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_progress import history, service
from okr_shared import channels, metrics, subjects
from okr_shared.consumer import BatchConsumer, Delivery
from okr_shared.contracts import progress
from okr_shared.contracts.common import utcnow
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.progress import (
    Contributions,
    Export,
    KpisExport,
    ObjectivesExport,
    ProgressCalculation,
    ProgressHistoryRequest,
    ProgressPoints,
    ProgressRequest,
    RebuildReport,
)
from okr_shared.outbox import Outbox
from okr_shared.rpc import RpcRouter, ask_json

OBJECTIVE_EVENTS_CONSUMER = "progress-objective-events"
KPI_EVENTS_CONSUMER = "progress-kpi-events"


def objective_events_consumer(
    client: Client, sessions: async_sessionmaker[AsyncSession], outbox: Outbox
) -> BatchConsumer[ObjectiveEvent]:
    async def handle(batch: list[Delivery[ObjectiveEvent]]) -> None:
        async with sessions.begin() as session:
            await service.apply_objective_events(session, outbox, (d.event for d in batch))

    return BatchConsumer(
        client,
        stream=subjects.OBJECTIVES,
        durable=OBJECTIVE_EVENTS_CONSUMER,
        filter_subject=subjects.OBJECTIVE_EVENTS,
        payload=TypeAdapter(ObjectiveEvent),
        handle=handle,
        channels=channels.OBJECTIVE_EVENTS,
    )


def kpi_events_consumer(
    client: Client, sessions: async_sessionmaker[AsyncSession], outbox: Outbox
) -> BatchConsumer[KpiProgressChanged]:
    async def handle(batch: list[Delivery[KpiProgressChanged]]) -> None:
        async with sessions.begin() as session:
            await service.apply_kpi_events(session, outbox, (d.event for d in batch))
        observe_rollup_latency(d.event.occurred_at for d in batch)

    return BatchConsumer(
        client,
        stream=subjects.KPI_EVENTS,
        durable=KPI_EVENTS_CONSUMER,
        filter_subject=subjects.KPI_PROGRESS_CHANGED,
        payload=KpiProgressChanged,
        handle=handle,
        batch_size=500,
        channels=[channels.KPI_PROGRESS_CHANGED],
    )


def observe_rollup_latency(stored_at: Iterable[datetime]) -> None:
    """From the KPIs service storing a value (its event's time) to the rollup committed here.
    Both clocks must agree: on one machine they do; across machines, keep them in NTP sync."""
    now = utcnow()
    for at in stored_at:
        metrics.ROLLUP_LATENCY.observe(max(0.0, (now - at).total_seconds()))


REBUILD_TIMEOUT_S = 120.0


def build_router(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox, broker: NatsBroker
) -> RpcRouter:
    router = RpcRouter(queue="progress")

    @router.serve(progress.REBUILD)
    async def rebuild(_: Export) -> RebuildReport:
        """Rebuild the projection from the objectives and KPIs services; recompute everything."""
        objectives = ObjectivesExport.model_validate_json(
            await ask_json(broker, progress.OBJECTIVES_EXPORT, Export(), timeout=REBUILD_TIMEOUT_S)
        )
        kpis = KpisExport.model_validate_json(
            await ask_json(broker, progress.KPIS_EXPORT, Export(), timeout=REBUILD_TIMEOUT_S)
        )
        async with sessions.begin() as session:
            return await service.rebuild(session, outbox, objectives, kpis)

    @router.serve(progress.CALCULATE)
    async def calculate(request: ProgressRequest) -> ProgressCalculation:
        """One objective's progress computed now; nothing stored."""
        async with sessions() as session:
            return await service.calculate(session, request.objective_id)

    @router.serve(progress.CONTRIBUTIONS)
    async def contributions(request: ProgressRequest) -> Contributions:
        """Every KPI (and manual objective) below one objective, with its effective weight."""
        async with sessions() as session:
            return await service.contributions(session, request.objective_id)

    @router.serve(progress.RECALCULATE)
    async def recalculate(request: ProgressRequest) -> ProgressCalculation:
        """Recompute one objective, store it, cascade to its ancestors, publish."""
        async with sessions.begin() as session:
            return await service.recalculate(session, outbox, request.objective_id)

    @router.serve(progress.HISTORY)
    async def progress_history(request: ProgressHistoryRequest) -> ProgressPoints:
        """The last recorded rollup of each bucket, oldest first."""
        async with sessions() as session:
            return await history.points(session, request)

    return router
