"""A command that PostgreSQL made a deadlock's victim is run again in a new transaction; any
other failure, or a third conflict, reaches the caller."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from okr_shared.db import CONFLICT_ATTEMPTS, in_transaction


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failure(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE ...", None, PgError(sqlstate))


class Sessions:
    """Stands in for an async_sessionmaker: counts the transactions begun."""

    def __init__(self) -> None:
        self.begun = 0

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[str]:
        self.begun += 1
        yield f"session {self.begun}"


async def test_a_deadlock_victim_runs_again() -> None:
    sessions, seen = Sessions(), []

    async def run(session: str) -> str:
        seen.append(session)
        if len(seen) == 1:
            raise failure("40P01")
        return "done"

    assert await in_transaction(sessions, run) == "done"  # type: ignore[arg-type]
    assert seen == ["session 1", "session 2"]


async def test_other_failures_and_a_last_conflict_reach_the_caller() -> None:
    async def unique_violation(_: Any) -> None:
        raise failure("23505")

    sessions = Sessions()
    with pytest.raises(DBAPIError):
        await in_transaction(sessions, unique_violation)  # type: ignore[arg-type]
    assert sessions.begun == 1

    async def always_conflicting(_: Any) -> None:
        raise failure("40001")

    sessions = Sessions()
    with pytest.raises(DBAPIError):
        await in_transaction(sessions, always_conflicting)  # type: ignore[arg-type]
    assert sessions.begun == CONFLICT_ATTEMPTS
