"""The gateway: the only HTTP entry. REST for API consumers, identity and permissions."""

from pathlib import Path

from okr_shared.migrations import ServiceSchema

__version__ = "0.1.0"
SCHEMA = ServiceSchema("gateway", "identity", Path(__file__).parent.parent / "migrations")
