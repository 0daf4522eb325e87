"""The delivery loop of one process: leased deliveries in, signed POSTs out, outcomes recorded.

Work arrives two ways. Deliveries this process has just fanned out come leased to it, in
memory, straight after their commit (no query between an event and its POST). Everything else
that is due (retries, deliveries whose sender died, those fanned out while this process was
full) is claimed from the table with `FOR UPDATE SKIP LOCKED`, so replicas share it and never
hold one delivery at once. A lease lasts long enough for one attempt; a sender starts an
attempt only while its lease has at least a timeout left, and records the outcome only if the
lease is still its own: no two processes send one delivery at the same time, and a process
killed mid-send loses nothing (the delivery is due again when its lease ends).

Outcomes are recorded in batches, at most one transaction every RECORD_EVERY_S: whatever
finished meanwhile goes in the next one. The table is asked for due deliveries every POLL_S,
when a fan-out left some unleased, and, while a claim keeps finding more than there is room
for, as soon as half the room is free again; never once per delivery sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_shared import metrics
from okr_shared.contracts.common import utcnow
from okr_shared.failpoints import failpoint
from okr_shared.faults import is_transient
from okr_webhooks import delivery_repository, repository, service
from okr_webhooks.delivery_repository import Job, Outcome
from okr_webhooks.retries import RetryPolicy
from okr_webhooks.sender import Sender
from okr_webhooks.settings import WebhooksSettings

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often due deliveries are looked for when nothing woke the loop
RECORD_EVERY_S = 0.05  # at most one transaction of outcomes this often: 400 sends, not 400 commits
PRUNE_EVERY_S = 60.0
LEASE_MARGIN_S = 2.0  # beyond the timeout: an attempt needs at least this much lease to start


class Deliverer:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: WebhooksSettings
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.policy = RetryPolicy(
            settings.retry_base_s, settings.retry_max_s, settings.give_up_after_s
        )
        self.sender = Sender(
            allow_private=settings.allow_private,
            timeout_s=settings.timeout_s,
            connections=settings.concurrency,
        )
        self.lease_s = 2 * settings.timeout_s + 10
        self.capacity = 2 * settings.concurrency  # jobs held at once: queued and in flight
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._held = 0
        self._outcomes: list[Outcome] = []
        self._have_outcomes = asyncio.Event()
        self._room = asyncio.Event()  # the claimer may look for due deliveries again
        self._backlog = False  # the last claim filled the room: there may be more due
        self._recorded: dict[int, asyncio.Future[None]] = {}  # delivery id → its outcome saved
        self._tasks: list[asyncio.Task[None]] = []

    # --- what the fan-out and the handlers use ---------------------------------------------

    def room(self) -> int:
        """How many fresh deliveries this process can take now; the rest wait in the table."""
        return max(0, self.capacity - self._held)

    def lease(self) -> tuple[UUID, timedelta]:
        return uuid4(), timedelta(seconds=self.lease_s)

    def take(self, jobs: Sequence[Job]) -> None:
        """Leased deliveries to send now."""
        self._held += len(jobs)
        for job in jobs:
            self._queue.put_nowait(job)

    async def recorded(self, delivery_id: int, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a delivery taken by this process to have its outcome
        recorded; False if it has not by then."""
        waiter = self._recorded.setdefault(delivery_id, asyncio.get_running_loop().create_future())
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except TimeoutError:
            return False
        finally:
            self._recorded.pop(delivery_id, None)
        return True

    # --- the worker ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sender.start()
        self._tasks = [
            asyncio.create_task(self._send_loop(), name=f"webhook-sender-{n}")
            for n in range(self.settings.concurrency)
        ]
        self._tasks += [
            asyncio.create_task(self._claim_loop(), name="webhook-claimer"),
            asyncio.create_task(self._record_loop(), name="webhook-recorder"),
        ]

    async def stop(self) -> None:
        """Outcomes already known are recorded; deliveries in flight are due again when their
        leases end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        batch, self._outcomes = self._outcomes, []
        with contextlib.suppress(Exception):
            await self._record(batch)
        await self.sender.stop()

    async def _send_loop(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._attempt(job)
            finally:
                self._held -= 1
                if self._backlog and self._held <= self.capacity // 2:
                    self._room.set()

    async def _attempt(self, job: Job) -> None:
        left = (job.lease_until - utcnow()).total_seconds()
        if left < self.settings.timeout_s + LEASE_MARGIN_S:
            return  # waited too long in the queue: it is due again when its lease ends
        sent = await self.sender.send(job.url, job.secrets, job.webhook_id, job.payload)
        failpoint("webhooks.delivery.after_send")
        metrics.WEBHOOK_ATTEMPTS.labels("delivered" if sent.delivered else "failed").inc()
        metrics.WEBHOOK_ATTEMPT_LATENCY.observe(sent.latency_ms / 1000)
        if not sent.delivered:
            log.info(
                "webhook %s to endpoint %d failed: %s", job.webhook_id, job.endpoint_id, sent.error
            )
        self._outcomes.append(service.outcome(job, sent, self.policy))
        self._have_outcomes.set()

    async def _claim_loop(self) -> None:
        next_prune = time.monotonic()
        while True:
            self._room.clear()
            room = self.room()
            claimed = 0
            try:
                if room:
                    claimed = await self._claim(room)
                if time.monotonic() >= next_prune:
                    await self._prune()
                    next_prune = time.monotonic() + PRUNE_EVERY_S
            except Exception as err:  # the database away: the leases keep everything safe
                log.warning("webhook deliveries: cannot claim (%s); retrying", err)
                await asyncio.sleep(1.0)
                continue
            self._backlog = bool(room) and claimed == room
            if self._backlog:
                # There may be more due: claim again as soon as half of these are done.
                await self._room.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), POLL_S)

    async def _claim(self, limit: int) -> int:
        lease, length = self.lease()
        now = utcnow()
        async with self.sessions.begin() as session:
            jobs = await delivery_repository.claim_due(session, limit, lease, now + length, now)
        self.take(jobs)
        return len(jobs)

    async def _prune(self) -> None:
        before = utcnow() - timedelta(seconds=self.settings.keep_finished_s)
        async with self.sessions.begin() as session:
            await delivery_repository.prune(session, before)

    def nudge(self) -> None:
        """Deliveries were committed unleased (this process was full): look for them now."""
        self._room.set()

    async def _record_loop(self) -> None:
        last = 0.0
        while True:
            await self._have_outcomes.wait()
            await asyncio.sleep(max(0.0, last + RECORD_EVERY_S - time.monotonic()))
            last = time.monotonic()
            self._have_outcomes.clear()
            batch, self._outcomes = self._outcomes, []
            try:
                await self._record(batch)
            except Exception as err:
                if _endpoint_deleted(err):  # meanwhile: its attempts are left out next time
                    self._outcomes = batch + self._outcomes
                    self._have_outcomes.set()
                elif is_transient(err):  # the database away: keep them for the next try
                    log.warning("webhook outcomes: cannot record (%s); retrying", err)
                    self._outcomes = batch + self._outcomes
                    self._have_outcomes.set()
                    await asyncio.sleep(1.0)
                else:  # a bug: their deliveries are sent again when their leases end
                    log.exception("webhook outcomes: %d could not be recorded", len(batch))

    async def _record(self, batch: list[Outcome]) -> None:
        if not batch:
            return
        async with self.sessions.begin() as session:
            await service.record(session, batch, self.policy)
        for o in batch:
            waiter = self._recorded.get(o.job.delivery_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


def _endpoint_deleted(err: Exception) -> bool:
    return isinstance(err, IntegrityError) and repository.endpoint_gone(err)
