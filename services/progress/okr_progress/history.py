"""Progress history: every rollup change is a point of its objective's history, written by
the rollup in its own transaction (service.recompute); this module reads the points back and
thins them out as they age.

Compaction keeps every point for `history_every_change_s` (a day), then the last point of each
objective and UTC hour until `history_hourly_s` (90 days), then the last of each UTC day. Each
tier walks the points in time order from a cursor (progress.history_compaction), a bounded batch
per transaction, so a run reads only what aged since the last one. The cursor row is locked by
the batch that moves it, so progress replicas compacting at once take turns; and a batch only
deletes points that have a later point in their unit, so running one twice deletes nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_progress import history_repository
from okr_progress.history_repository import Key
from okr_progress.settings import ProgressSettings
from okr_shared.contracts.common import utcnow
from okr_shared.contracts.progress import ProgressHistoryRequest, ProgressPoint, ProgressPoints
from okr_shared.faults import is_transient

log = logging.getLogger(__name__)


async def points(session: AsyncSession, request: ProgressHistoryRequest) -> ProgressPoints:
    """The last point of each bucket in the range, oldest first (none for an objective that has
    none, or that the projection does not know yet)."""
    found = await history_repository.points(
        session, request.objective_id, request.since, request.until, request.bucket.value
    )
    return ProgressPoints(points=[ProgressPoint(at=at, progress=p) for at, p in found])


@dataclass(frozen=True, slots=True)
class Tier:
    """Points older than `age` keep only the last of each `unit` per objective."""

    name: str
    unit: str  # date_trunc's
    length: timedelta  # of one unit
    age: timedelta


def tiers(settings: ProgressSettings) -> tuple[Tier, ...]:
    # Hours first: a point old enough for the day tier has been through the hour tier.
    return (
        Tier(
            "hour", "hour", timedelta(hours=1), timedelta(seconds=settings.history_every_change_s)
        ),
        Tier("day", "day", timedelta(days=1), timedelta(seconds=settings.history_hourly_s)),
    )


async def compact(
    sessions: async_sessionmaker[AsyncSession],
    tiers: tuple[Tier, ...],
    now: datetime,
    batch: int,
) -> dict[str, int]:
    """Thin out every point that has aged past a tier since the last run: the points deleted,
    per tier. One transaction per `batch` points looked at."""
    return {tier.name: await _compact_tier(sessions, tier, now - tier.age, batch) for tier in tiers}


async def _compact_tier(
    sessions: async_sessionmaker[AsyncSession], tier: Tier, cutoff: datetime, batch: int
) -> int:
    deleted = 0
    while True:
        async with sessions.begin() as session:
            after = await history_repository.cursor(session, tier.name)
            done = await history_repository.compact_batch(
                session, after=after, cutoff=cutoff, unit=tier.unit, length=tier.length, limit=batch
            )
            full = done.looked_at == batch and done.last is not None
            # A batch that was not full reached the cutoff: the next run starts there.
            reached = done.last if full and done.last is not None else Key(cutoff, 0, 0)
            await history_repository.move_cursor(session, tier.name, reached)
        deleted += done.deleted
        if not full:
            return deleted


class HistoryCompactor:
    """A worker of every progress process: compacts the history every
    `history_compact_every_s`, the first time soon after it starts."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: ProgressSettings
    ) -> None:
        self.sessions = sessions
        self.tiers = tiers(settings)
        self.every_s = settings.history_compact_every_s
        self.batch = settings.history_compact_batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="history-compactor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                deleted = await compact(self.sessions, self.tiers, utcnow(), self.batch)
                if any(deleted.values()):
                    log.info("progress history compacted: %s points deleted", deleted)
            except Exception as err:
                # A periodic job outlives a bad moment: the next run goes on from the cursor.
                if is_transient(err):
                    log.warning("progress history: cannot compact (%s); next run retries", err)
                else:
                    log.exception("progress history: compaction failed")
            await asyncio.sleep(self.every_s)
