"""The real servers the tests talk to: NATS with JetStream and PostgreSQL.

By default both are the embedded wheels, started on free ports in a temporary folder.
`OKR_NATS_URL` / `OKR_DATABASE_URL` use existing servers instead (the tests create and drop a
database of their own there, and recreate the JetStream streams, so give them a NATS server
meant for tests). `OKR_TEST_DOCKER=1` starts both with testcontainers when a Docker engine
answers, and falls back to the wheels with a `DockerFallbackWarning` when none does (shown in
pytest's warnings summary: pyproject.toml lets this one warning through `filterwarnings = error`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from okr_cli.config import SERVICE_NAMES
from okr_shared.db_roles import role_name
from okr_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from tests.support import compose_file


class DockerFallbackWarning(UserWarning):
    """OKR_TEST_DOCKER=1 asked for containers, and the embedded servers run instead."""


@dataclass(frozen=True)
class Servers:
    nats_url: str
    postgres_url: str  # the server's maintenance database; tests make their own next to it


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[Servers]:
    with contextlib.ExitStack() as stack:
        nats_url = os.environ.get("OKR_NATS_URL")
        postgres_url = os.environ.get("OKR_DATABASE_URL")
        if os.environ.get("OKR_TEST_DOCKER") == "1" and not (nats_url and postgres_url):
            if docker_answers():
                docker_nats, docker_pg = stack.enter_context(docker_servers())
                nats_url = nats_url or docker_nats
                postgres_url = postgres_url or docker_pg
            else:
                warnings.warn(
                    "OKR_TEST_DOCKER=1 but no Docker engine answers; using the embedded servers",
                    DockerFallbackWarning,
                    stacklevel=1,
                )
        if not nats_url:
            nats = EmbeddedNats(tmp / "nats", port=free_port())
            nats.start()
            stack.callback(nats.stop)
            nats_url = nats.url
        if not postgres_url:
            postgres = EmbeddedPostgres(tmp / "postgres", port=free_port())
            postgres.start()
            stack.callback(postgres.stop)
            postgres_url = postgres.url
        yield Servers(nats_url, postgres_url)


def docker_answers() -> bool:
    if not _docker_socket_accepts():
        return False
    import docker  # noqa: PLC0415 - only with OKR_TEST_DOCKER=1

    try:
        with contextlib.closing(docker.from_env(timeout=3)) as client:
            client.ping()
    except (docker.errors.DockerException, OSError):
        return False
    return True


def _docker_socket_accepts() -> bool:
    """A bare connection first: docker-py leaks its socket when nothing answers, which
    `filterwarnings = error` would turn into a failure of whichever test runs next."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    scheme, _, address = host.partition("://")
    try:
        if scheme == "unix":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(3)
                sock.connect(address)
        elif scheme == "tcp":
            name, _, port = address.rstrip("/").rpartition(":")
            with socket.create_connection((name, int(port)), timeout=3):
                pass
    except (OSError, ValueError):
        return False
    return True  # another scheme (ssh://): docker-py's own ping decides


@contextlib.contextmanager
def docker_servers() -> Iterator[tuple[str, str]]:
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415
    from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

    password = secrets.token_hex(8)
    with (
        DockerContainer(compose_file.image("nats-1"))
        .with_command("-js")
        .with_exposed_ports(4222) as nats,
        PostgresContainer(
            compose_file.image("postgres"), username="okr", password=password, dbname="okr"
        ) as pg,
    ):
        wait_for_logs(nats, "Server is ready", timeout=30)
        nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        pg_url = f"postgresql://okr:{password}@{pg.get_container_host_ip()}:{pg.get_exposed_port(5432)}/okr"
        yield nats_url, pg_url


@dataclass(frozen=True)
class MigratedDatabase:
    url: str  # the owner's
    service_urls: dict[str, str]  # each service's own role's


async def drop_database(admin: asyncpg.Connection, url: str) -> None:
    """Drop the database, then its service roles (roles outlive a database: they are the
    server's)."""
    database = url.rpartition("/")[2]
    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    for service in SERVICE_NAMES:
        await admin.execute(f'DROP ROLE IF EXISTS "{role_name(url, service)}"')


def database_url(server_url: str, database: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{database}"


def test_database_name() -> str:
    return f"okr_test_{secrets.token_hex(4)}"
