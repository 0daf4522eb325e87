"""Composition root of the KPIs service."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client

from okr_kpis import __version__, commands, handlers, models
from okr_kpis.settings import KpisSettings
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.runtime import ServiceRuntime, Worker
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry


def build(settings: KpisSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("kpis", __version__, settings, pool_size=settings.db_pool_size)
    outbox = Outbox(models.outbox, publishes=commands.PUBLISHES)
    runtime.publishes_through(outbox)
    jetstream = handlers.JetStreamProvider()
    handlers.build_router(runtime.sessions, outbox, jetstream).serve_on(runtime.broker)

    def consumer(client: Client) -> Worker:
        jetstream.set(client.jetstream())
        return handlers.ingest_consumer(
            client,
            runtime.sessions,
            outbox,
            batch_size=settings.ingest_batch_size,
            max_clock_skew_s=settings.max_clock_skew_s,
        )

    runtime.add_worker(consumer)
    runtime.add_worker(lambda nc: OutboxRelay(outbox, runtime.sessions, nc.jetstream()))
    return runtime


def run() -> None:
    settings = load_settings(KpisSettings, "okr-kpis")
    configure_telemetry("kpis", settings)
    asyncio.run(build(settings).serve())
