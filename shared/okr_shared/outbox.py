"""Transactional outbox: an event commits in the same transaction as the change it describes,
and a relay publishes it to JetStream afterwards.

The relay publishes with `Nats-Msg-Id` = the event id, then marks the row sent. A crash between
the two republishes the row on restart, and JetStream's duplicate window drops the copy: nothing
lost, nothing twice.

Two paths. What this process has just committed is handed to the relay in memory and published
at once: no query stands between a commit and its events. Published rows are marked sent in
one statement every `mark_every_s` (not one transaction per commit: under a trickle of single
events that transaction cost as much as the commit itself), well before the sweep would look
at them; a mark lost to a crash costs a duplicate that JetStream drops. A sweep every
`poll_interval_s` publishes whatever is still unsent (rows of a process that crashed, or that
failed to publish), claiming rows with `FOR UPDATE SKIP LOCKED` so replicas share the work; a
row that both paths publish is dropped by JetStream as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

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

from okr_shared import metrics, tracing
from okr_shared.contracts.common import Event
from okr_shared.event_channels import Channel, Declared
from okr_shared.failpoints import failpoint

log = logging.getLogger(__name__)

MARK_PER_STATEMENT = 10_000  # PostgreSQL takes at most 32,767 parameters per statement


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


@dataclass(frozen=True)
class Row:
    event_id: UUID
    subject: str
    payload: bytes
    # The trace that caused the event, for its consumers to go on with. Kept in memory only:
    # an event the sweep publishes (after a crash) starts a trace of its own.
    trace: dict[str, str] | None = None


class Outbox:
    """Write events in the caller's transaction; the relay gets them as soon as it commits."""

    def __init__(self, table: Table, *, publishes: Sequence[Channel]) -> None:
        self.table = table
        # What this outbox may publish: the AsyncAPI document shows it, and add_each holds to it.
        self.publishes = Declared(publishes)
        self.committed = asyncio.Event()
        self._fresh: list[Row] = []  # committed, not yet handed to the relay
        self._key = f"okr-outbox-{table.schema}"

    def take_fresh(self) -> list[Row]:
        fresh, self._fresh = self._fresh, []
        return fresh

    async def add(self, session: AsyncSession, subject: str, events: Sequence[Event]) -> None:
        await self.add_each(session, [(subject, e) for e in events])

    async def add_each(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        """Events with a subject each, in one statement."""
        if not events:
            return
        self.publishes.check(s for s, _ in events)
        trace = tracing.inject({}) or None
        rows = [Row(e.event_id, s, e.model_dump_json().encode(), trace) for s, e in events]
        await session.execute(
            insert(self.table),
            [{"event_id": r.event_id, "subject": r.subject, "payload": r.payload} for r in rows],
        )
        pending = session.info.setdefault(self._key, [])
        if not pending:
            event.listen(session.sync_session, "after_commit", self._on_commit, once=True)
            event.listen(session.sync_session, "after_rollback", self._on_rollback, once=True)
        pending.extend(rows)

    def _on_commit(self, session: Any) -> None:
        self._fresh.extend(session.info.pop(self._key, []))
        self.committed.set()

    def _on_rollback(self, session: Any) -> None:
        if not session.in_nested_transaction():  # a savepoint's rollback keeps the rest
            session.info.pop(self._key, None)


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        sweep_after_s: float = 2.0,
        keep_sent_s: float = 3600.0,
        mark_every_s: float = 0.2,
    ) -> None:
        self.outbox = outbox
        self.sessions = sessions
        self.js = js
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        # The sweep leaves younger rows to the fast path, which may be publishing them now.
        self.sweep_after_s = sweep_after_s
        self.keep_sent_s = keep_sent_s
        self.mark_every_s = mark_every_s
        self._published: list[UUID] = []  # published by the fast path, not yet marked sent
        self._mark_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):  # else the sweep republishes them: duplicates
            await self.mark_published()

    async def _run(self) -> None:
        next_sweep = next_prune = time.monotonic()
        failures = 0
        while True:
            self.outbox.committed.clear()
            try:
                if not await self.send_fresh():
                    next_sweep = time.monotonic()  # what failed is left to the sweep
                if self._published and time.monotonic() >= self._mark_at:
                    await self.mark_published()
                if time.monotonic() >= next_sweep:
                    full = await self.relay_once() == self.batch_size
                    next_sweep = time.monotonic() + (0 if full else self.poll_interval_s)
                failures = 0
            except Exception as err:  # NATS or the database is away: keep the rows, try again
                failures += 1
                log.warning("outbox relay: %s; retrying", err or type(err).__name__)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                next_sweep = time.monotonic()
                continue
            if time.monotonic() >= next_prune:
                await self._prune()
                next_prune = time.monotonic() + 60
            until = min(next_sweep, self._mark_at) if self._published else next_sweep
            wait = max(0.0, until - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.committed.wait(), wait)

    async def send_fresh(self) -> bool:
        """Publish what this process has just committed, to be marked sent with the next
        `mark_published`; False if some events were not published (they stay in the outbox
        for the sweep)."""
        rows = self.outbox.take_fresh()
        if not rows:
            return True
        failpoint(f"outbox.{self.outbox.table.schema}.before_publish")
        results = await asyncio.gather(
            *(self._publish(r.subject, r.payload, r.event_id, r.trace) for r in rows),
            return_exceptions=True,
        )
        failpoint(f"outbox.{self.outbox.table.schema}.after_publish")
        published = [r for r, result in zip(rows, results, strict=True) if result is None]
        metrics.count_subjects(metrics.PUBLISHED, (r.subject for r in published))
        if published and not self._published:
            self._mark_at = time.monotonic() + self.mark_every_s
        self._published.extend(r.event_id for r in published)
        return len(published) == len(rows)

    async def mark_published(self) -> None:
        """Mark what the fast path published as sent. Kept for the next try if the database is
        away."""
        sent, self._published = self._published, []
        if not sent:
            return
        table = self.outbox.table
        try:
            async with self.sessions.begin() as session:
                # In slices: a rebuild commits more events than a statement may have parameters.
                for start in range(0, len(sent), MARK_PER_STATEMENT):
                    await session.execute(
                        update(table)
                        .where(
                            table.c.event_id.in_(sent[start : start + MARK_PER_STATEMENT]),
                            table.c.published_at.is_(None),
                        )
                        .values(published_at=func.now())
                    )
        except BaseException:
            self._published = sent + self._published
            raise

    async def _publish(
        self, subject: str, payload: bytes, event_id: UUID, trace: dict[str, str] | None = None
    ) -> None:
        headers = {"Nats-Msg-Id": str(event_id), **(trace or {})}
        await self.js.publish(subject, payload, headers=headers)

    async def relay_once(self) -> int:
        table = self.outbox.table
        async with self.sessions.begin() as session:
            rows = (
                await session.execute(
                    select(table.c.seq, table.c.event_id, table.c.subject, table.c.payload)
                    .where(
                        table.c.published_at.is_(None),
                        table.c.created_at < func.now() - timedelta(seconds=self.sweep_after_s),
                    )
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
                *(self._publish(r.subject, r.payload, r.event_id) for r in rows),
                return_exceptions=True,
            )
            published = [r for r, result in zip(rows, results, strict=True) if result is None]
            metrics.count_subjects(metrics.PUBLISHED, (r.subject for r in published))
            sent = [r.seq for r in published]
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

    async def backlog(self) -> int:
        """Events committed and not yet published."""
        table = self.outbox.table
        async with self.sessions() as session:
            unsent = await session.scalar(
                select(func.count()).select_from(table).where(table.c.published_at.is_(None))
            )
        return int(unsent or 0)

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
