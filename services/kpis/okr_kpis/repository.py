"""Every SQL statement of the KPIs service. Repositories never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from okr_kpis.models import IngestSource, Kpi, KpiValue
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.kpi_rpc import KpiFilters


async def insert_kpi(session: AsyncSession, values: dict[str, Any]) -> Kpi:
    return (await session.execute(insert(Kpi).values(**values).returning(Kpi))).scalar_one()


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The view rule (permissions.py's matrix) as SQL: every read for a caller carries it."""
    if actor.role in (Role.ADMIN, Role.INTEGRATION):
        return true()
    mine = Kpi.owner_id == actor.user_id
    if actor.role is Role.MANAGER and actor.department is not None:
        return or_(mine, Kpi.department == actor.department)
    if actor.role in (Role.MANAGER, Role.EMPLOYEE):
        return mine
    return false()


async def get_kpi(
    session: AsyncSession, kpi_id: int, *, seen_by: Actor, for_update: bool = False
) -> Kpi | None:
    """The KPI, if `seen_by` may see it; missing and out of view read the same: None."""
    statement = select(Kpi).where(Kpi.id == kpi_id, visible_to(seen_by))
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_kpis(session: AsyncSession, kpi_ids: Collection[int]) -> list[Kpi]:
    """The KPIs of an ingest batch, locked in id order: replicas ingesting at once queue on the
    rows instead of deadlocking, and progress is computed from definitions that cannot change
    underneath."""
    statement = (
        select(Kpi).where(Kpi.id.in_(sorted(set(kpi_ids)))).order_by(Kpi.id).with_for_update()
    )
    return list((await session.execute(statement)).scalars().all())


async def list_kpis(
    session: AsyncSession, actor: Actor, filters: KpiFilters, skip: int, limit: int
) -> tuple[list[Kpi], int]:
    conditions = [visible_to(actor)]
    for name, value in filters.model_dump(exclude_none=True).items():
        conditions.append(getattr(Kpi, name) == getattr(value, "value", value))
    rows = await session.execute(
        select(Kpi).where(*conditions).order_by(Kpi.id).offset(skip).limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(Kpi).where(*conditions))
    return list(rows.scalars().all()), int(total or 0)


async def visible_kpis(session: AsyncSession, actor: Actor, kpi_ids: Sequence[int]) -> list[Kpi]:
    statement = select(Kpi).where(Kpi.id.in_(set(kpi_ids)), visible_to(actor))
    return list((await session.execute(statement)).scalars().all())


async def update_kpi(session: AsyncSession, kpi_id: int, values: dict[str, Any]) -> Kpi:
    statement = (
        update(Kpi)
        .where(Kpi.id == kpi_id)
        .values(**values, version=Kpi.version + 1, updated_at=func.now())
        .returning(Kpi)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


@dataclass
class NewValues:
    """Values to store, as columns."""

    kpi_ids: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    observed: list[datetime] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


# Arrays rather than one bound row each: asyncpg encodes them in C, where SQLAlchemy's
# insertmanyvalues handles every parameter of every row in Python (2.5x slower at 100k rows).
# Only each KPI's newest new value comes back: that is all the caller needs.
INSERT_VALUES = text(
    """
    WITH stored AS (
        INSERT INTO kpis.kpi_values
            (kpi_id, value, observed_at, source, source_label, idempotency_key)
        SELECT * FROM unnest(
            CAST(:kpi_ids AS bigint[]), CAST(:values AS double precision[]),
            CAST(:observed AS timestamptz[]), CAST(:sources AS text[]),
            CAST(:labels AS text[]), CAST(:keys AS text[]))
        ON CONFLICT (kpi_id, source, idempotency_key) DO NOTHING
        RETURNING id, kpi_id, value, observed_at
    )
    SELECT DISTINCT ON (kpi_id) kpi_id, value, observed_at
    FROM stored ORDER BY kpi_id, observed_at DESC, id DESC
    """
)


class NewestValue(NamedTuple):
    """A KPI's newest value among those a batch stored."""

    kpi_id: int
    value: float
    observed_at: datetime


async def insert_values(session: AsyncSession, new: NewValues) -> list[NewestValue]:
    """Store values once each: a sender's repeated (kpi_id, idempotency_key) is skipped, however
    late; another sender's value with the same key is stored.
    Returns (kpi_id, value, observed_at) of each KPI's newest value among those that were new.
    One statement for the batch."""
    if not new.keys:
        return []
    params = {
        "kpi_ids": new.kpi_ids,
        "values": new.values,
        "observed": new.observed,
        "sources": new.sources,
        "labels": new.labels,
        "keys": new.keys,
    }
    rows = (await session.execute(INSERT_VALUES, params)).all()
    return [NewestValue(*row) for row in rows]


@dataclass(frozen=True)
class KpiMove:
    """A KPI moved to a newer value: its new progress and version."""

    kpi_id: int
    value: float
    observed_at: datetime
    progress: float | None
    version: int


KPIS = cast(Table, Kpi.__table__)  # core UPDATE: the batch's ORM objects must stay untouched
MOVE_KPI = (
    update(KPIS)
    .where(KPIS.c.id == bindparam("b_id"))
    .values(
        current_value=bindparam("b_value"),
        current_observed_at=bindparam("b_observed_at"),
        progress_percentage=bindparam("b_progress"),
        version=bindparam("b_version"),
        updated_at=func.now(),
    )
)


async def move_kpis(session: AsyncSession, moves: Sequence[KpiMove]) -> None:
    """Every KPI of `moves` to its new value, in one executemany."""
    if not moves:
        return
    rows = [
        {
            "b_id": m.kpi_id,
            "b_value": m.value,
            "b_observed_at": m.observed_at,
            "b_progress": m.progress,
            "b_version": m.version,
        }
        for m in moves
    ]
    await (await session.connection()).execute(MOVE_KPI, rows)


@dataclass
class SourceCounts:
    """What one batch adds to each sender's counts."""

    sent: int = 0
    refused: int = 0
    last_published_at: datetime | None = None
    last_refused_at: datetime | None = None


# In source order: two batches of the same senders lock their rows in the same order.
COUNT_SOURCES = text(
    """
    INSERT INTO kpis.ingest_sources AS s
        (source, values_sent, values_refused, last_published_at, last_refused_at)
    SELECT * FROM unnest(
        CAST(:sources AS text[]), CAST(:sent AS bigint[]), CAST(:refused AS bigint[]),
        CAST(:published AS timestamptz[]), CAST(:refused_at AS timestamptz[]))
    ORDER BY 1
    ON CONFLICT (source) DO UPDATE SET
        values_sent = s.values_sent + excluded.values_sent,
        values_refused = s.values_refused + excluded.values_refused,
        last_published_at = GREATEST(s.last_published_at, excluded.last_published_at),
        last_refused_at = GREATEST(s.last_refused_at, excluded.last_refused_at)
    """
)


async def count_sources(session: AsyncSession, counts: dict[str, SourceCounts]) -> None:
    """Add a batch's counts: one statement for all its senders."""
    if not counts:
        return
    names = sorted(counts)
    params = {
        "sources": names,
        "sent": [counts[n].sent for n in names],
        "refused": [counts[n].refused for n in names],
        "published": [counts[n].last_published_at for n in names],
        "refused_at": [counts[n].last_refused_at for n in names],
    }
    await session.execute(COUNT_SOURCES, params)


async def source_stats(session: AsyncSession, sources: Collection[str]) -> list[IngestSource]:
    statement = select(IngestSource).where(IngestSource.source.in_(sorted(set(sources))))
    return list((await session.execute(statement.order_by(IngestSource.source))).scalars().all())


async def history(
    session: AsyncSession, kpi_id: int, since: datetime | None, until: datetime | None, limit: int
) -> list[KpiValue]:
    statement = select(KpiValue).where(KpiValue.kpi_id == kpi_id)
    if since is not None:
        statement = statement.where(KpiValue.observed_at >= since)
    if until is not None:
        statement = statement.where(KpiValue.observed_at <= until)
    statement = statement.order_by(KpiValue.observed_at.desc(), KpiValue.id.desc()).limit(limit)
    return list((await session.execute(statement)).scalars().all())


async def all_kpis(session: AsyncSession) -> list[Kpi]:
    return list((await session.execute(select(Kpi).order_by(Kpi.id))).scalars().all())
