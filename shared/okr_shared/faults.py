"""Which failures are the world's fault (retry later) rather than the message's or the request's."""

from __future__ import annotations

import socket

import nats.errors
import nats.js.errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    OperationalError,
    InterfaceError,
    # NATS being away or busy, not a request that can never succeed:
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
)
# asyncpg's SQLSTATE classes that mean "try again": serialization failure, deadlock, and the
# server being unavailable (shutting down, starting up, too many connections).
TRANSIENT_SQLSTATES = {
    "40001",
    "40P01",
    "57P01",
    "57P02",
    "57P03",
    "53300",
    "08000",
    "08003",
    "08006",
}


def is_transient(err: BaseException) -> bool:
    if isinstance(err, DBAPIError) and (
        err.connection_invalidated or getattr(err.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    ):
        return True
    return isinstance(err, TRANSIENT_ERRORS)


def is_conflict(err: BaseException) -> bool:
    """A deadlock or serialization failure: worth retrying at once, nothing is down."""
    return isinstance(err, DBAPIError) and getattr(err.orig, "sqlstate", None) in {"40001", "40P01"}
