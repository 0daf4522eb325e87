"""Apply every service's migrations, each in its own schema."""

from __future__ import annotations

from okr_cli.services import SERVICES
from okr_shared.migrations import upgrade


def migrate_all(database_url: str) -> list[str]:
    for spec in SERVICES:
        upgrade(spec.schema, database_url)
    return [spec.schema.schema for spec in SERVICES]
