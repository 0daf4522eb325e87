"""Composition root of the webhooks service. Run as many replicas as you like: they share its
durable consumers (each event is fanned out by one of them) and lease deliveries from one
table (each is sent by one of them at a time)."""

from __future__ import annotations

import asyncio

from okr_shared.runtime import ServiceRuntime
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry
from okr_webhooks import __version__, handlers
from okr_webhooks.delivery import Deliverer
from okr_webhooks.settings import WebhooksSettings


def build(settings: WebhooksSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("webhooks", __version__, settings, pool_size=settings.db_pool_size)
    deliverer = Deliverer(runtime.sessions, settings)
    handlers.build_router(runtime.sessions, settings, deliverer).serve_on(runtime.broker)
    size = settings.fanout_batch_size
    runtime.add_worker(lambda _: deliverer)  # first: the consumers hand it work at once
    for consumer in (
        handlers.objective_events_consumer,
        handlers.progress_consumer,
        handlers.rejections_consumer,
    ):
        runtime.add_worker(
            lambda nc, make=consumer: make(nc, runtime.sessions, deliverer, size)  # type: ignore[misc]
        )
    return runtime


def run() -> None:
    settings = load_settings(WebhooksSettings, "okr-webhooks")
    configure_telemetry("webhooks", settings)
    asyncio.run(build(settings).serve())
