"""Composition root of the progress service. Run as many replicas as you like: they share one
durable consumer, so each event is handled by one of them."""

from __future__ import annotations

import asyncio

from okr_progress import __version__, handlers, models, service
from okr_progress.settings import ProgressSettings
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.runtime import ServiceRuntime
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry


def build(settings: ProgressSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("progress", __version__, settings, pool_size=settings.db_pool_size)
    outbox = Outbox(models.outbox, publishes=service.PUBLISHES)
    runtime.broker.include_router(
        handlers.build_router(runtime.sessions, outbox, runtime.broker).router
    )
    runtime.add_worker(lambda js: handlers.objective_events_consumer(js, runtime.sessions, outbox))
    runtime.add_worker(lambda js: handlers.kpi_events_consumer(js, runtime.sessions, outbox))
    runtime.add_worker(lambda js: OutboxRelay(outbox, runtime.sessions, js))
    return runtime


def run() -> None:
    settings = load_settings(ProgressSettings, "okr-progress")
    configure_telemetry("progress", settings)
    asyncio.run(build(settings).serve())
