"""A system of its own on a NATS server that lets in only who `okr up` lets in: the services'
user, the shared HR user, the system account's user, and integrations through the gateway's
auth callout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from okr_cli.migrate import migrate_all, new_role_passwords, service_urls
from okr_shared.db import libpq_url
from okr_shared.embedded import EmbeddedNats, free_port, okr_users
from okr_shared.nats_callout import account_public_key, new_account_seed
from tests.support import infra
from tests.support.system import RunningSystem, running_system


@contextlib.asynccontextmanager
async def guarded_system(
    servers: infra.Servers, folder: Path
) -> AsyncIterator[tuple[RunningSystem, EmbeddedNats]]:
    seed = new_account_seed()
    server = EmbeddedNats(
        folder / "nats",
        port=free_port(),
        users=okr_users("service-password-0123456789", "hr-password-0123456789"),
        system_password="system-password-0123456789",
        callout_issuer=account_public_key(seed),
    )
    server.start()
    admin = await asyncpg.connect(libpq_url(servers.postgres_url))
    url = infra.database_url(servers.postgres_url, infra.test_database_name())
    await admin.execute(f'CREATE DATABASE "{url.rpartition("/")[2]}"')
    passwords = new_role_passwords()
    gateway = {"nats_callout_seed": seed, "nats_system_url": server.url_for("sys")}
    try:
        await asyncio.to_thread(migrate_all, url, passwords)
        async with running_system(
            server.url_for("okr"),
            url,
            folder / "gateway",
            service_urls(url, passwords),
            gateway=gateway,
        ) as system:
            yield system, server
    finally:
        server.stop()
        await infra.drop_database(admin, url)
        await admin.close()
