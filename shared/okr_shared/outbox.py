"""Transactional outbox: an event commits in the same transaction as the change it describes,
and a relay publishes it to JetStream afterwards.

The relay publishes with `Nats-Msg-Id` = the event id, then marks the row sent. A crash between
the two republishes the row on restart, and JetStream's duplicate window drops the copy: nothing
lost, nothing twice. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_shared.contracts.common import Event
from okr_shared.failpoints import failpoint

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox of one service, in that service's schema (the metadata's)."""
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )


class RelayError(RuntimeError):
    """Some events of a round were not published; they stay in the outbox for the next one."""


class Outbox:
    """Write events in the caller's transaction; the relay wakes as soon as it commits."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.committed = asyncio.Event()

    async def add(self, session: AsyncSession, subject: str, events: Sequence[Event]) -> None:
        await self.add_each(session, [(subject, e) for e in events])

    async def add_each(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        """Events with a subject each, in one statement."""
        if not events:
            return
        await session.execute(
            insert(self.table),
            [
                {"event_id": e.event_id, "subject": s, "payload": e.model_dump_json().encode()}
                for s, e in events
            ],
        )
        event.listen(session.sync_session, "after_commit", self._on_commit, once=True)

    def _on_commit(self, _session: Any) -> None:
        self.committed.set()


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        keep_sent_s: float = 3600.0,
    ) -> None:
        self.outbox = outbox
        self.sessions = sessions
        self.js = js
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.keep_sent_s = keep_sent_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        # Polling as well as waking: rows that another replica committed, or that a crashed
        # process left behind, have no in-process signal.
        next_prune = time.monotonic()
        failures = 0
        while True:
            self.outbox.committed.clear()
            try:
                sent = await self.relay_once()
                failures = 0
            except Exception as err:  # NATS or the database is away: keep the rows, try again
                failures += 1
                log.warning("outbox relay: %s; retrying", err or type(err).__name__)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            if sent == self.batch_size:
                continue
            if time.monotonic() >= next_prune:
                await self._prune()
                next_prune = time.monotonic() + 60
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.committed.wait(), self.poll_interval_s)

    async def relay_once(self) -> int:
        table = self.outbox.table
        async with self.sessions.begin() as session:
            rows = (
                await session.execute(
                    select(table.c.seq, table.c.event_id, table.c.subject, table.c.payload)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            failpoint(f"outbox.{table.schema}.before_publish")
            # One PubAck round trip per event, all in flight together. A row that fails stays
            # for the next round; it does not hold back the rows that went out.
            results = await asyncio.gather(
                *(
                    self.js.publish(r.subject, r.payload, headers={"Nats-Msg-Id": str(r.event_id)})
                    for r in rows
                ),
                return_exceptions=True,
            )
            sent = [
                r.seq
                for r, result in zip(rows, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            failpoint(f"outbox.{table.schema}.after_publish")
            if sent:
                await session.execute(
                    update(table).where(table.c.seq.in_(sent)).values(published_at=func.now())
                )
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise RelayError(
                f"{len(failures)} of {len(rows)} events not published: {failures[0]!r}"
            )
        return len(rows)

    async def _prune(self) -> None:
        table = self.outbox.table
        try:
            async with self.sessions.begin() as session:
                await session.execute(
                    delete(table).where(
                        table.c.published_at
                        < func.now() - text(f"interval '{int(self.keep_sent_s)} seconds'")
                    )
                )
        except Exception as err:  # pruning is housekeeping: try again in a minute
            log.warning("outbox prune failed: %s", err)
