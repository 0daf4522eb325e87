"""Least privilege in PostgreSQL: each service's role may use its own schema's tables and
nothing else (the session's services run as these roles, so every other test shows they are
enough)."""

from __future__ import annotations

import asyncpg
import pytest

from okr_shared.db import libpq_url
from okr_shared.db_roles import scram_verifier
from tests.support.infra import MigratedDatabase


async def connect_as(database: MigratedDatabase, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(database.service_urls[service]))


async def test_the_kpis_role_cannot_read_the_users(database: MigratedDatabase) -> None:
    kpis = await connect_as(database, "kpis")
    try:
        assert await kpis.fetchval("SELECT count(*) FROM kpis.kpis") >= 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await kpis.fetch("SELECT username, password_hash FROM identity.users")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await kpis.fetch("SELECT * FROM objectives.objectives")
    finally:
        await kpis.close()


async def test_the_gateway_role_cannot_write_objectives(database: MigratedDatabase) -> None:
    gateway = await connect_as(database, "gateway")
    try:
        assert await gateway.fetchval("SELECT count(*) FROM identity.users") >= 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await gateway.execute("DELETE FROM objectives.objectives")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await gateway.execute("UPDATE progress.objectives SET id = id")
    finally:
        await gateway.close()


@pytest.mark.parametrize(
    ("service", "schema"),
    [("objectives", "objectives"), ("kpis", "kpis"), ("progress", "progress")],
)
async def test_a_role_cannot_change_its_schemas_shape_or_history(
    database: MigratedDatabase, service: str, schema: str
) -> None:
    """Only migrations, run as the owner, create, alter or drop tables and record revisions."""
    connection = await connect_as(database, service)
    try:
        for statement in (
            f"CREATE TABLE {schema}.intruder (id int)",
            f"ALTER TABLE {schema}.outbox ADD COLUMN intruder int",
            f"DROP TABLE {schema}.outbox",
            f"UPDATE {schema}.alembic_version SET version_num = 'x'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute(statement)
        assert await connection.fetchval(f"SELECT version_num FROM {schema}.alembic_version")
    finally:
        await connection.close()


def test_a_role_password_reaches_the_server_as_a_scram_verifier_only() -> None:
    verifier = scram_verifier("pencil", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert "pencil" not in verifier
