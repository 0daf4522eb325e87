"""The KPIs service's NATS handlers: request/reply for definitions and reads, and the durable
batch consumer that ingests values."""

from __future__ import annotations

from datetime import timedelta

from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_kpis import commands, ingest, queries
from okr_shared import subjects as s
from okr_shared.consumer import BatchConsumer
from okr_shared.contracts import kpi_rpc as rpc
from okr_shared.contracts.common import Page
from okr_shared.contracts.kpis import KpiDetail, KpiResponse, KpiValue, Rejection, SourceStats
from okr_shared.contracts.progress import KPIS_EXPORT, Export
from okr_shared.outbox import Outbox
from okr_shared.rpc import RpcRouter


def build_router(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox, js: JetStreamProvider
) -> RpcRouter:
    router = RpcRouter(queue="kpis")
    serve = router.serve

    @serve(rpc.CREATE)
    async def create(request: rpc.CreateKpi) -> KpiResponse:
        """Create a KPI definition."""
        async with sessions.begin() as session:
            return await commands.create_kpi(session, outbox, request)

    @serve(rpc.UPDATE)
    async def update(request: rpc.UpdateKpi) -> KpiResponse:
        """Change a KPI definition; its progress is recomputed."""
        async with sessions.begin() as session:
            return await commands.update_kpi(session, outbox, request)

    @serve(rpc.ARCHIVE)
    async def archive(request: rpc.ArchiveKpi) -> None:
        """Archive a KPI: it takes no more values and leaves rollups; history stays."""
        async with sessions.begin() as session:
            await commands.archive_kpi(session, outbox, request)

    @serve(rpc.GET)
    async def get(request: rpc.KpiRequest) -> KpiDetail:
        """One KPI, if the caller may see it."""
        async with sessions() as session:
            return await queries.get_kpi(session, request)

    @serve(rpc.LIST)
    async def list_(request: rpc.ListKpis) -> Page[KpiResponse]:
        """A page of the KPIs the caller may see."""
        async with sessions() as session:
            return await queries.list_kpis(session, request)

    @serve(rpc.VALUES)
    async def values(request: rpc.ValueHistory) -> list[KpiValue]:
        """A KPI's values, newest first."""
        async with sessions() as session:
            return await queries.value_history(session, request)

    @serve(rpc.WRITABLE)
    async def writable(request: rpc.WritableKpis) -> rpc.Writability:
        """Which of these KPIs the caller may see, and may write values to."""
        async with sessions() as session:
            return await queries.writable(session, request)

    @serve(KPIS_EXPORT)
    async def export(_: Export) -> bytes:
        """Every KPI's progress (for a rebuild of the progress projection)."""
        async with sessions() as session:
            return await queries.export(session)

    @serve(rpc.REJECTIONS)
    async def rejections(request: rpc.RecentRejections) -> list[Rejection]:
        """The newest refused values with their reasons (admin)."""
        return await queries.rejections(js(), request)

    @serve(rpc.SOURCES)
    async def sources(request: rpc.SourceStatsRequest) -> list[SourceStats]:
        """Values sent and refused per sender, and when it last published (admin)."""
        async with sessions() as session:
            return await queries.source_stats(session, request)

    return router


class JetStreamProvider:
    """JetStream exists only once the broker has connected; handlers ask for it when called."""

    def __init__(self) -> None:
        self._js: JetStreamContext | None = None

    def set(self, js: JetStreamContext) -> None:
        self._js = js

    def __call__(self) -> JetStreamContext:
        assert self._js is not None, "the broker is not connected yet"
        return self._js


def ingest_consumer(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    *,
    batch_size: int,
    max_clock_skew_s: float,
) -> BatchConsumer[ingest.Received]:
    js = client.jetstream()
    ingestor = ingest.Ingestor(sessions, outbox, js, timedelta(seconds=max_clock_skew_s))
    return BatchConsumer(
        client,
        stream=s.KPI_VALUES,
        durable=ingest.CONSUMER,
        filter_subject=s.KPI_VALUES_SUBJECTS,
        payload=ingest.decode,
        handle=ingestor.handle,
        batch_size=batch_size,
        channels=ingest.CHANNELS,
    )
