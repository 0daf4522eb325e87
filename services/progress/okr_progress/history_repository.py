"""Every SQL statement of the progress history (okr_progress.history). Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_progress.models import CompactionCursor, HistoryPoint
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.db import rows_per_statement

# Buckets (hours, days, weeks) are UTC's whatever the session's time zone.
ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class Key:
    """A point's place in time order: (at, objective_id, version), as ix_history_at sorts."""

    at: datetime
    objective_id: int
    version: int


# Before any point: objective ids and versions are at least 1.
START = Key(datetime(1970, 1, 1, tzinfo=UTC), 0, 0)


async def record(session: AsyncSession, updates: Sequence[ObjectiveProgressUpdated]) -> None:
    """One point per rollup change, in as few multi-row INSERTs as the parameter limit allows
    (one, for any batch the consumers hand over)."""
    rows = [
        {
            "objective_id": u.objective_id,
            "at": u.last_calculated,
            "version": u.version,
            "progress": u.progress_percentage,
        }
        for u in updates
    ]
    step = rows_per_statement(HistoryPoint.__table__)
    for start in range(0, len(rows), step):
        await session.execute(insert(HistoryPoint).values(rows[start : start + step]))


async def points(
    session: AsyncSession, objective_id: int, since: datetime, until: datetime, bucket: str
) -> Sequence[tuple[datetime, float]]:
    """(at, progress) of the last point of each `bucket` from `since` to `until` (both
    included) that has any, oldest first: one range scan of the primary key."""
    bucketed = (
        select(
            HistoryPoint.at,
            HistoryPoint.version,
            HistoryPoint.progress,
            func.date_trunc(bucket, HistoryPoint.at, ZONE).label("bucket"),
        )
        .where(
            HistoryPoint.objective_id == objective_id,
            HistoryPoint.at >= since,
            HistoryPoint.at <= until,
        )
        .subquery()
    )
    statement = (
        select(bucketed.c.at, bucketed.c.progress)
        .ext(distinct_on(bucketed.c.bucket))
        .order_by(bucketed.c.bucket, bucketed.c.at.desc(), bucketed.c.version.desc())
    )
    return [(at, progress) for at, progress in (await session.execute(statement)).all()]


async def cursor(session: AsyncSession, tier: str) -> Key:
    """Where `tier` got to, locked until the transaction ends: replicas compacting at once take
    turns, each going on from where the other left off."""
    await session.execute(
        insert(CompactionCursor)
        .values(tier=tier, at=START.at, objective_id=START.objective_id, version=START.version)
        .on_conflict_do_nothing(index_elements=[CompactionCursor.tier])
    )
    row = (
        await session.execute(
            select(CompactionCursor.at, CompactionCursor.objective_id, CompactionCursor.version)
            .where(CompactionCursor.tier == tier)
            .with_for_update()
        )
    ).one()
    return Key(row.at, row.objective_id, row.version)


async def move_cursor(session: AsyncSession, tier: str, to: Key) -> None:
    await session.execute(
        update(CompactionCursor)
        .where(CompactionCursor.tier == tier)
        .values(at=to.at, objective_id=to.objective_id, version=to.version)
    )


# The next `limit` points after the cursor and before the cutoff, in time order (an index range
# scan of ix_history_at); of those, the ones with a later point of their objective in the same
# unit (a primary key probe each) are deleted. The last point of a unit is never deleted: no
# later one exists. Answers how many were looked at and deleted, and the last key looked at.
COMPACT = text(
    """
    WITH batch AS (
        SELECT objective_id, at, version FROM progress.history
        WHERE (at, objective_id, version) > (:at, :objective_id, :version) AND at < :cutoff
        ORDER BY at, objective_id, version
        LIMIT :limit
    ), gone AS (
        DELETE FROM progress.history AS h USING batch AS b
        WHERE h.objective_id = b.objective_id AND h.at = b.at AND h.version = b.version
          AND EXISTS (
              SELECT 1 FROM progress.history AS later
              WHERE later.objective_id = b.objective_id
                AND (later.at, later.version) > (b.at, b.version)
                AND later.at < date_trunc(:unit, b.at, :zone) + CAST(:length AS interval))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM batch) AS looked_at, (SELECT count(*) FROM gone) AS deleted,
           last.at, last.objective_id, last.version
    FROM (SELECT 1) AS one LEFT JOIN (
        SELECT at, objective_id, version FROM batch
        ORDER BY at DESC, objective_id DESC, version DESC LIMIT 1
    ) AS last ON true
    """
)


@dataclass(frozen=True, slots=True)
class Compacted:
    looked_at: int
    deleted: int
    last: Key | None  # None when nothing was looked at


async def compact_batch(
    session: AsyncSession,
    *,
    after: Key,
    cutoff: datetime,
    unit: str,
    length: timedelta,
    limit: int,
) -> Compacted:
    row = (
        await session.execute(
            COMPACT,
            {
                "at": after.at,
                "objective_id": after.objective_id,
                "version": after.version,
                "cutoff": cutoff,
                "limit": limit,
                "unit": unit,
                "zone": ZONE,
                "length": length,
            },
        )
    ).one()
    last = Key(row.at, row.objective_id, row.version) if row.at is not None else None
    return Compacted(row.looked_at, row.deleted, last)
