"""What the end-to-end tests share: a NATS server and a database of their own (so that no
service of the session's in-process system can step in), and service processes to kill."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from okr_cli.migrate import migrate_all
from okr_shared.db import libpq_url
from okr_shared.embedded import EmbeddedNats, free_port
from tests.support import infra


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


def start(module: str, nats_url: str, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OKR_NATS_URL": nats_url,
        "OKR_DATABASE_URL": database_url,
        "OKR_INSTANCE": f"{module}-crash",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT
        )
