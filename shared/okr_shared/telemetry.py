"""A process's logs and traces, set up once from its settings before anything else runs."""

from __future__ import annotations

from okr_shared.logs import configure_logging
from okr_shared.settings import ServiceSettings
from okr_shared.tracing import configure_tracing


def configure_telemetry(service: str, settings: ServiceSettings) -> None:
    instance = settings.instance or service
    configure_tracing(service, instance, settings.otlp_endpoint)
    configure_logging(
        service, settings.log_level, log_format=settings.log_format, instance=instance
    )
