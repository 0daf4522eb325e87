"""Session-wide real servers and a migrated database of the tests' own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from okr_cli.migrate import migrate_all, new_role_passwords, service_urls
from okr_shared.db import libpq_url
from okr_shared.embedded import EmbeddedNats, free_port
from okr_shared.subjects import STREAMS
from tests.support import infra
from tests.support.guarded import guarded_system
from tests.support.system import RunningSystem, running_system
from tests.support.telemetry import install as install_telemetry

pytest_plugins = ["tests.support.browser"]  # chromium and base_url, for the browser tests

# Before anything makes a span: the services in this process trace as they would on their own.
install_telemetry()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[infra.Servers]:
    with infra.servers(tmp_path_factory.mktemp("servers")) as found:
        yield found


@pytest.fixture(scope="session")
async def nats_url(servers: infra.Servers) -> str:
    """A NATS server whose okr streams start empty."""
    client = await nats.connect(servers.nats_url)
    js = client.jetstream()
    for stream in STREAMS:
        for name in (stream.name, stream.dlq_name):
            try:
                await js.delete_stream(name)
            except nats.js.errors.NotFoundError:
                pass
    await client.close()
    return servers.nats_url


@pytest.fixture(scope="session")
async def database(servers: infra.Servers) -> AsyncIterator[infra.MigratedDatabase]:
    """A fresh database on the test server, migrated to head as its owner, with each service's
    own role (as `okr up` and compose run them); dropped at the end, roles and all."""
    name = infra.test_database_name()
    admin = await asyncpg.connect(libpq_url(servers.postgres_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = infra.database_url(servers.postgres_url, name)
    passwords = new_role_passwords()
    try:
        await asyncio.to_thread(migrate_all, url, passwords)
        yield infra.MigratedDatabase(url, service_urls(url, passwords))
    finally:
        await infra.drop_database(admin, url)
        await admin.close()


@pytest.fixture(scope="session")
def database_url(database: infra.MigratedDatabase) -> str:
    """The owner's URL: what tests use to look behind the services at what they stored."""
    return database.url


@pytest.fixture(scope="session")
async def system(
    nats_url: str, database: infra.MigratedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningSystem]:
    async with running_system(
        nats_url, database.url, tmp_path_factory.mktemp("gateway"), database.service_urls
    ) as running:
        yield running


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture
async def own_world(servers: infra.Servers, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    name = infra.test_database_name()
    admin = await asyncpg.connect(libpq_url(servers.postgres_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = infra.database_url(servers.postgres_url, name)
    server = EmbeddedNats(tmp_path / "nats", port=free_port())
    server.start()
    try:
        await asyncio.to_thread(migrate_all, database_url)
        yield server.url, database_url
    finally:
        server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def guarded(
    servers: infra.Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningSystem, EmbeddedNats]]:
    """A system of its own on a NATS server that lets in only okr's users and, through the
    gateway's auth callout, integrations (as `okr up` runs it)."""
    async with guarded_system(servers, tmp_path_factory.mktemp("guarded")) as running:
        yield running
