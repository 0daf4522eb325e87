"""Composition root of the progress service. Run as many replicas as you like: they share one
durable consumer, so each event is handled by one of them."""

from __future__ import annotations

import asyncio

from okr_progress import __version__, handlers, models, service
from okr_progress.history import HistoryCompactor
from okr_progress.settings import ProgressSettings
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.runtime import ServiceRuntime
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry


def build(settings: ProgressSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("progress", __version__, settings, pool_size=settings.db_pool_size)
    outbox = Outbox(models.outbox, publishes=service.PUBLISHES)
    runtime.publishes_through(outbox)
    handlers.build_router(runtime.sessions, outbox, runtime.broker).serve_on(runtime.broker)
    runtime.add_worker(lambda nc: handlers.objective_events_consumer(nc, runtime.sessions, outbox))
    runtime.add_worker(lambda nc: handlers.kpi_events_consumer(nc, runtime.sessions, outbox))
    runtime.add_worker(lambda nc: OutboxRelay(outbox, runtime.sessions, nc.jetstream()))
    runtime.add_worker(lambda _: HistoryCompactor(runtime.sessions, settings))
    return runtime


def run() -> None:
    settings = load_settings(ProgressSettings, "okr-progress")
    configure_telemetry("progress", settings)
    asyncio.run(build(settings).serve())
