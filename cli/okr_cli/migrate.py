"""Apply every service's migrations, each in its own schema, and give each service its role."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from okr_cli.services import SERVICES
from okr_shared.db_roles import ServiceRole, role_name, service_url
from okr_shared.migrations import upgrade
from okr_shared.private_files import secret_file


class MigrationFailed(RuntimeError):
    """Migrations (or the roles' grants) could not be applied; the message says why in a line."""


def migrate_all(database_url: str, role_passwords: Mapping[str, str] | None = None) -> list[str]:
    """Migrate as the owner (`database_url`). With `role_passwords` (service name → password),
    each service's login role is created or updated and granted its schema's tables."""
    try:
        _migrate_each(database_url, role_passwords)
    except (SQLAlchemyError, ValueError) as err:
        raise MigrationFailed(_reason(err)) from err
    except OSError as err:  # asyncpg's own, for a server that is not there
        raise MigrationFailed(f"migrations failed: cannot reach the database: {err}") from err
    return [spec.schema.schema for spec in SERVICES]


def _migrate_each(database_url: str, role_passwords: Mapping[str, str] | None) -> None:
    for spec in SERVICES:
        role = None
        if role_passwords is not None:
            role = ServiceRole(role_name(database_url, spec.name), role_passwords[spec.name])
        upgrade(spec.schema, database_url, role=role)


def _reason(err: Exception) -> str:
    """The server's own words, without the statement (which may carry a password verifier)."""
    if isinstance(err, DBAPIError) and err.orig is not None:
        reason = str(err.orig).strip().splitlines()[0]
        if "permission denied to create role" in reason:
            reason += (
                " (the owner in the database URL needs CREATEROLE to give each service a role)"
            )
        return f"migrations failed: {reason}"
    return f"migrations failed: {str(err).splitlines()[0]}"


def service_urls(database_url: str, role_passwords: Mapping[str, str]) -> dict[str, str]:
    """Each service's own URL: the owner's server and database, the service's role."""
    return {
        spec.name: service_url(
            database_url,
            ServiceRole(role_name(database_url, spec.name), role_passwords[spec.name]),
        )
        for spec in SERVICES
    }


def kept_role_passwords(data_dir: Path) -> dict[str, str]:
    """The roles' passwords `okr up` keeps in its data dir (made on first use)."""
    return {
        spec.name: secret_file(data_dir / f"postgres-{spec.name}-password") for spec in SERVICES
    }


def new_role_passwords() -> dict[str, str]:
    """For a database that lives only as long as its caller (tests, benchmarks, chaos runs)."""
    return {spec.name: secrets.token_urlsafe(24) for spec in SERVICES}
