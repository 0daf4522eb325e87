"""Alembic, once for all services: each service keeps its own history in its own schema.

`upgrade()` runs a service's migrations to head. Each service's `migrations/env.py` is two lines
that call `run_env()` with that service's metadata and schema. Concurrent migrators (two replicas
starting at once) queue on an advisory lock instead of racing. Given the service's role, the
same run grants it the schema's tables (`db_roles`), so it never lags behind a new table.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from okr_shared.db import asyncpg_url
from okr_shared.db_roles import ServiceRole, grant_schema


@dataclass(frozen=True)
class ServiceSchema:
    """Where a service's tables live and where its migration history is."""

    service: str
    schema: str
    migrations: Path


def alembic_config(
    target: ServiceSchema, database_url: str, role: ServiceRole | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(target.migrations))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(target.migrations / "versions"))
    config.attributes["database_url"] = asyncpg_url(database_url)
    config.attributes["schema"] = target.schema
    config.attributes["role"] = role
    return config


def upgrade(
    target: ServiceSchema,
    database_url: str,
    revision: str = "head",
    role: ServiceRole | None = None,
) -> None:
    """Blocking; from async code call it in a thread (alembic drives its own event loop).
    `database_url` is the owner's; `role`, if given, is the service's own login."""
    command.upgrade(alembic_config(target, database_url, role), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    config = context.config
    schema = config.attributes["schema"]
    if context.is_offline_mode():
        context.configure(
            url=config.attributes["database_url"],
            target_metadata=metadata,
            version_table_schema=schema,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    role = config.attributes.get("role")
    asyncio.run(_run_online(config.attributes["database_url"], metadata, schema, role))


async def _run_online(url: str, metadata: MetaData, schema: str, role: ServiceRole | None) -> None:
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, metadata, schema, role)
    finally:
        await engine.dispose()


def _migrate(
    connection: Connection, metadata: MetaData, schema: str, role: ServiceRole | None
) -> None:
    key = {"key": f"okr-migrate-{schema}"}
    connection.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), key)
    connection.commit()  # a session lock: it outlives this transaction, until the unlock
    try:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            # Autogenerate compares this service's schema, and only it.
            include_schemas=True,
            include_name=lambda name, kind, _parents: kind != "schema" or name == schema,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if role is not None:
            grant_schema(connection, schema, role)
        connection.commit()
    finally:
        connection.rollback()  # after a failed migration the transaction is aborted: end it first
        connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
        connection.commit()
