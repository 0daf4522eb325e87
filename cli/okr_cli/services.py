"""The services as the CLI knows them: how to run each, and where its migrations are."""

from __future__ import annotations

from dataclasses import dataclass

import okr_gateway
import okr_kpis
import okr_objectives
import okr_progress
import okr_webhooks
from okr_shared.migrations import ServiceSchema


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    schema: ServiceSchema


SERVICES = (
    ServiceSpec("objectives", "okr_objectives", okr_objectives.SCHEMA),
    ServiceSpec("kpis", "okr_kpis", okr_kpis.SCHEMA),
    ServiceSpec("progress", "okr_progress", okr_progress.SCHEMA),
    ServiceSpec("webhooks", "okr_webhooks", okr_webhooks.SCHEMA),
    ServiceSpec("gateway", "okr_gateway", okr_gateway.SCHEMA),
)
