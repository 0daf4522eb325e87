"""PostgreSQL plumbing: engines and sessions. Every service owns one schema in one database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import FromClause, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from okr_shared.faults import is_conflict

# Constraint and index names every service's metadata uses, so migrations name them alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


MAX_PARAMETERS = 32_767  # what PostgreSQL's protocol (and asyncpg) take in one statement


def rows_per_statement(table: FromClause) -> int:
    """How many rows one multi-row INSERT into `table` may carry: a row binds at most one
    parameter per column, its defaults included (SQLAlchemy binds those too)."""
    return MAX_PARAMETERS // len(table.columns)


def asyncpg_url(url: str) -> str:
    """Accept the usual `postgresql://` spellings and name the asyncpg driver."""
    for scheme in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url.removeprefix(scheme)
    raise ValueError(
        "must start with postgresql:// (for example postgresql://user:pw@host:5432/db)"
    )


def libpq_url(url: str) -> str:
    """The same URL as plain `postgresql://`, for asyncpg.connect and psql."""
    return "postgresql://" + asyncpg_url(url).removeprefix("postgresql+asyncpg://")


def make_engine(url: str, *, pool_size: int = 10, application_name: str = "okr") -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per checkout. After a database restart each stale
        # pooled connection fails once (a 503, or a redelivered batch) and is replaced.
        pool_pre_ping=False,
        hide_parameters=True,  # errors must not carry bound values (password hashes, user data)
        connect_args={"server_settings": {"application_name": application_name}},
    )


def make_reader(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads that need no transaction: no BEGIN and ROLLBACK round trips."""
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers read what they just wrote after the commit, without
    # another round trip (and without lazy loads, which async SQLAlchemy forbids).
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_answers(engine: AsyncEngine, timeout_s: float = 2.0) -> bool:
    """Readiness: a `SELECT 1` through the pool answers within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True


CONFLICT_ATTEMPTS = 3
R = TypeVar("R")


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession], run: Callable[[AsyncSession], Awaitable[R]]
) -> R:
    """`run` in one transaction, run again (up to CONFLICT_ATTEMPTS in all) when PostgreSQL made
    it a deadlock's or a serialization failure's victim: it was rolled back whole, so running it
    again is safe, and the caller should not see a conflict between two requests as an error."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            async with sessions.begin() as session:
                return await run(session)
        except DBAPIError as err:
            if attempt == CONFLICT_ATTEMPTS or not is_conflict(err):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises
