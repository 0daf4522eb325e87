"""The webhooks service: events matched to registered endpoints, signed, delivered at least once."""

from pathlib import Path

from okr_shared.migrations import ServiceSchema

__version__ = "0.1.0"
SCHEMA = ServiceSchema("webhooks", "webhooks", Path(__file__).parent.parent / "migrations")
