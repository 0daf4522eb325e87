"""Composition root of the objectives service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from okr_objectives import __version__, commands, handlers, models, rollups
from okr_objectives.settings import ObjectivesSettings
from okr_shared import parcels
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.runtime import ServiceRuntime
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry


def build(settings: ObjectivesSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("objectives", __version__, settings, pool_size=settings.db_pool_size)
    outbox = Outbox(models.outbox, publishes=commands.PUBLISHES)
    runtime.publishes_through(outbox)

    def parcel(name: str) -> Awaitable[bytes | None]:
        return parcels.receive(runtime.broker, name, replicas=settings.nats_replicas)

    router = handlers.build_router(runtime.sessions, runtime.readers, outbox, parcel)
    router.serve_on(runtime.broker)
    runtime.add_worker(lambda nc: OutboxRelay(outbox, runtime.sessions, nc.jetstream()))
    runtime.add_worker(lambda nc: rollups.rollups_consumer(nc, runtime.sessions))
    return runtime


def run() -> None:
    settings = load_settings(ObjectivesSettings, "okr-objectives")
    configure_telemetry("objectives", settings)
    asyncio.run(build(settings).serve())
