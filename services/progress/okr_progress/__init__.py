"""The progress service: the rollup worker, from KPI values up to the company goals."""

from pathlib import Path

from okr_shared.migrations import ServiceSchema

__version__ = "0.1.0"
SCHEMA = ServiceSchema("progress", "progress", Path(__file__).parent.parent / "migrations")
