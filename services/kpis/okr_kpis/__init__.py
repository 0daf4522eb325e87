"""The KPIs service: KPI definitions, value history, and ingestion from HR systems."""

from pathlib import Path

from okr_shared.migrations import ServiceSchema

__version__ = "0.1.0"
SCHEMA = ServiceSchema("kpis", "kpis", Path(__file__).parent.parent / "migrations")
