"""Composition root of the KPIs service."""

from __future__ import annotations

import asyncio

from okr_kpis import __version__, models
from okr_kpis.settings import KpisSettings
from okr_shared.logs import configure_logging
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.runtime import ServiceRuntime
from okr_shared.settings import load_settings


def build(settings: KpisSettings) -> ServiceRuntime:
    runtime = ServiceRuntime("kpis", __version__, settings, pool_size=settings.db_pool_size)
    outbox = Outbox(models.outbox)
    runtime.add_worker(lambda js: OutboxRelay(outbox, runtime.sessions, js))
    return runtime


def run() -> None:
    settings = load_settings(KpisSettings, "okr-kpis")
    configure_logging("kpis", settings.log_level)
    asyncio.run(build(settings).serve())
