"""The real servers the tests talk to: NATS with JetStream and PostgreSQL.

By default both are the embedded wheels, started on free ports in a temporary folder.
`OKR_NATS_URL` / `OKR_DATABASE_URL` use existing servers instead (the tests create and drop a
database of their own there, and recreate the JetStream streams, so give them a NATS server
meant for tests). `OKR_TEST_DOCKER=1` starts both with testcontainers when a Docker engine
answers, and says so and falls back to the wheels when none does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from okr_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port


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
    try:
        import docker  # noqa: PLC0415 - only with OKR_TEST_DOCKER=1

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def docker_servers() -> Iterator[tuple[str, str]]:
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415
    from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

    password = secrets.token_hex(8)
    with (
        DockerContainer("nats:2.11-alpine").with_command("-js").with_exposed_ports(4222) as nats,
        PostgresContainer(
            "postgres:17-alpine", username="okr", password=password, dbname="okr"
        ) as pg,
    ):
        wait_for_logs(nats, "Server is ready", timeout=30)
        nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        pg_url = f"postgresql://okr:{password}@{pg.get_container_host_ip()}:{pg.get_exposed_port(5432)}/okr"
        yield nats_url, pg_url


def database_url(server_url: str, database: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{database}"


def test_database_name() -> str:
    return f"okr_test_{secrets.token_hex(4)}"
