"""The objectives service: objectives, their hierarchy and their weighted links to KPIs."""

from pathlib import Path

from okr_shared.migrations import ServiceSchema

__version__ = "0.1.0"
SCHEMA = ServiceSchema("objectives", "objectives", Path(__file__).parent.parent / "migrations")
