"""Least privilege in PostgreSQL: each service's role may use its own schema's tables and
nothing else (the session's services run as these roles, so every other test shows they are
enough)."""

from __future__ import annotations

import secrets

import asyncpg
import pytest
from sqlalchemy import event

from okr_shared.db import database_answers, libpq_url, make_engine
from okr_shared.db_roles import ServiceRole, grant_schema, role_name
from okr_shared.embedded import free_port
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


async def test_the_webhooks_role_sees_only_webhooks(database: MigratedDatabase) -> None:
    """Its schema holds every endpoint's signing secret; it reads nobody else's data."""
    webhooks = await connect_as(database, "webhooks")
    try:
        assert await webhooks.fetchval("SELECT count(*) FROM webhooks.endpoints") >= 0
        for table in ("identity.users", "objectives.objectives", "kpis.kpi_values"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await webhooks.fetch(f"SELECT * FROM {table}")
    finally:
        await webhooks.close()
    kpis = await connect_as(database, "kpis")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await kpis.fetch("SELECT secret FROM webhooks.endpoints")
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
    ("service", "schema", "table"),
    [
        ("objectives", "objectives", "outbox"),
        ("kpis", "kpis", "outbox"),
        ("progress", "progress", "outbox"),
        ("webhooks", "webhooks", "endpoints"),
    ],
)
async def test_a_role_cannot_change_its_schemas_shape_or_history(
    database: MigratedDatabase, service: str, schema: str, table: str
) -> None:
    """Only migrations, run as the owner, create, alter or drop tables and record revisions."""
    connection = await connect_as(database, service)
    try:
        for statement in (
            f"CREATE TABLE {schema}.intruder (id int)",
            f"ALTER TABLE {schema}.{table} ADD COLUMN intruder int",
            f"DROP TABLE {schema}.{table}",
            f"UPDATE {schema}.alembic_version SET version_num = 'x'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute(statement)
        assert await connection.fetchval(f"SELECT version_num FROM {schema}.alembic_version")
    finally:
        await connection.close()


async def test_a_role_password_reaches_the_server_only_as_a_scram_verifier(
    database: MigratedDatabase,
) -> None:
    """Every statement granting a role is seen on its way to the server: none holds the
    password, and the role then logs in with it."""
    password = "correct-horse-" + secrets.token_hex(8)
    role = ServiceRole(role_name(database.url, "probe"), password)
    sent: list[str] = []
    engine = make_engine(database.url, pool_size=1)

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(grant_schema, "kpis", role)
        assert any("SCRAM-SHA-256$4096:" in statement for statement in sent)
        assert not any(password in statement for statement in sent)
        probe = await asyncpg.connect(libpq_url(database.url), user=role.name, password=password)
        try:
            assert await probe.fetchval("SELECT count(*) FROM kpis.kpis") >= 0
        finally:
            await probe.close()
    finally:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(f'DROP OWNED BY "{role.name}"')
            await connection.exec_driver_sql(f'DROP ROLE "{role.name}"')
        await engine.dispose()


async def test_readiness_asks_the_database(database: MigratedDatabase) -> None:
    """What a service's ping (so okr status and compose's healthcheck) checks."""
    live = make_engine(database.service_urls["kpis"], pool_size=1)
    gone = make_engine(f"postgresql://okr:pw@127.0.0.1:{free_port()}/okr", pool_size=1)
    try:
        assert await database_answers(live)
        assert not await database_answers(gone, timeout_s=1.0)
    finally:
        await live.dispose()
        await gone.dispose()
