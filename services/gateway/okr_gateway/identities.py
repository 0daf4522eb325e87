"""The users the request path needs, kept in memory and forgotten as soon as PostgreSQL says
they changed.

Every request needs its caller's user row (role, department, active, token generation), and a
read of one objective its owner's name: two queries per request were 41 % of the gateway's CPU
time on a GET (docs/BENCHMARKS.md). A trigger announces every update and delete of a user
(`NOTIFY okr_identity_users, '<id>'`, gateway migration 0006) to every gateway listening, so a
permission change applies to the next request whichever replica made it.

This process's own changes are forgotten as they commit (the repository notes them in the
session, `repository.changed_user`), before the announcement comes back, so the request after
a change here never sees the user from before it. A user is kept only while this process is
listening, and only if no announcement about them
arrived while they were being read (else the row read could be the one from before the
change). When the listening connection is lost everything is forgotten and every request reads
the database again until it listens again. The users handed out are shared between requests:
read them, never change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from okr_gateway import repository
from okr_gateway.models import User

log = logging.getLogger(__name__)

CHANNEL = "okr_identity_users"
RETRY_S = 1.0


class Identities:
    def __init__(self, engine: AsyncEngine, readers: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._readers = readers
        self._users: dict[int, User] = {}
        self._changes: dict[int, int] = {}  # announcements per user id, while listening
        self._epoch = 0  # rises each time listening starts or stops
        self.listening = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            event.listen(Session, "after_commit", self._committed)
            self._task = asyncio.create_task(self._listen_always())

    async def stop(self) -> None:
        if self._task is not None:
            event.remove(Session, "after_commit", self._committed)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def user(self, user_id: int) -> User | None:
        """The user as the database has it now (or None)."""
        found = self._users.get(user_id)
        if found is not None:
            return found
        epoch, changes = self._epoch, self._changes.get(user_id, 0)
        async with self._readers() as db:
            found = await repository.get_user(db, user_id)
        unchanged = epoch == self._epoch and changes == self._changes.get(user_id, 0)
        if found is not None and self.listening and unchanged:
            self._users[user_id] = found
        return found

    def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)
        self._changes[user_id] = self._changes.get(user_id, 0) + 1

    def _committed(self, session: Session) -> None:
        for user_id in session.info.pop(repository.CHANGED_USERS, ()):
            self.forget(user_id)

    # --- listening ------------------------------------------------------------------------

    async def _listen_always(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("not told of user changes (%s); reading users every request", err)
            finally:
                self._stop_keeping()
            await asyncio.sleep(RETRY_S)

    async def _listen(self) -> None:
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg's own: LISTEN needs it
            lost = asyncio.Event()
            driver.add_termination_listener(lambda _: lost.set())
            await driver.add_listener(CHANNEL, self._announced)
            self._epoch += 1
            self.listening = True
            try:
                await lost.wait()
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._announced)
            raise ConnectionError("the connection listening for user changes closed")

    def _announced(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.forget(int(payload))
        except ValueError:
            log.warning("an announcement of a user change without an id: %r", payload)

    def _stop_keeping(self) -> None:
        self.listening = False
        self._epoch += 1
        self._users.clear()
        self._changes.clear()
