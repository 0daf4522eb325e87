"""Every SQL statement about periods and grades. Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Numeric,
    and_,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives.models import AuditEntry, Objective, Period
from okr_objectives.repository import LIVE, subtree_ids, visible_to
from okr_shared.contracts.common import Actor

YEAR = ""  # the quarter column of a whole year's period


async def period(
    session: AsyncSession, year: int, quarter: str, *, lock: bool = False
) -> Period | None:
    statement = select(Period).where(Period.year == year, Period.quarter == quarter)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def closed(session: AsyncSession) -> Sequence[Period]:
    return (await session.scalars(select(Period).where(Period.closed_at.is_not(None)))).all()


async def all_periods(session: AsyncSession) -> Sequence[Period]:
    return (await session.scalars(select(Period))).all()


async def set_closed(
    session: AsyncSession, year: int, quarter: str, at: datetime | None, by: int | None
) -> Period:
    values = pg_insert(Period).values(year=year, quarter=quarter, closed_at=at, closed_by=by)
    statement = values.on_conflict_do_update(
        index_elements=[Period.year, Period.quarter],
        set_={"closed_at": values.excluded.closed_at, "closed_by": values.excluded.closed_by},
    ).returning(Period)
    return (await session.execute(statement)).scalar_one()


def _in_period(year: int, quarter: str) -> list[ColumnElement[bool]]:
    conditions = [Objective.year == year]
    if quarter != YEAR:
        conditions.append(Objective.quarter == quarter)
    return conditions


async def grade(
    session: AsyncSession, year: int, quarter: str, actor_id: int
) -> Sequence[tuple[int, float, float, int]]:
    """Grade and freeze every live objective of the period not graded yet, with an audit entry
    each, in one statement (a round trip per row would take a 100,000-objective year minutes):
    (id, progress, grade, grade version) of each."""
    graded = cast(func.round(cast(Objective.progress_percentage / 100, Numeric), 2), Float)
    changed = (
        update(Objective)
        .where(*_in_period(year, quarter), LIVE, Objective.grade.is_(None))
        .values(grade=graded, grade_version=Objective.grade_version + 1)
        .returning(
            Objective.id, Objective.progress_percentage, Objective.grade, Objective.grade_version
        )
        .cte("graded")
    )
    change = func.jsonb_build_object("grade", func.jsonb_build_array(null(), changed.c.grade))
    rows = await session.execute(
        select(changed).add_cte(_audited(changed.c.id, "graded", actor_id, change))
    )
    return sorted((int(i), float(p), float(g or 0.0), int(v)) for i, p, g, v in rows.all())


def _audited(
    ids: ColumnElement[int], action: str, actor_id: int, change: ColumnElement[Any]
) -> CTE:
    """An audit entry for each of `ids`, as part of the statement that changed them."""
    entries = select(ids, literal(action), literal(actor_id), change)
    columns = ["objective_id", "action", "actor_id", "changes"]
    return insert(AuditEntry).from_select(columns, entries).cte(f"{action}_audit")


async def ungrade(
    session: AsyncSession, year: int, quarter: str, still_closed: Sequence[str], actor_id: int
) -> list[tuple[int, int]]:
    """Unfreeze the period's graded objectives, but those of its quarters still closed."""
    conditions = [*_in_period(year, quarter), Objective.grade.is_not(None)]
    if still_closed:
        conditions.append(
            or_(Objective.quarter.is_(None), Objective.quarter.not_in(list(still_closed)))
        )
    changed = (
        update(Objective)
        .where(and_(*conditions))
        .values(grade=None, grade_version=Objective.grade_version + 1)
        .returning(Objective.id, Objective.grade_version)
        .cte("ungraded")
    )
    change = func.jsonb_build_object("grade", func.jsonb_build_array("graded", null()))
    rows = await session.execute(
        select(changed).add_cte(_audited(changed.c.id, "reopened", actor_id, change))
    )
    return sorted((int(i), int(v)) for i, v in rows.all())


async def summaries(
    session: AsyncSession, actor: Actor
) -> Sequence[tuple[int, str | None, str, int, int, float | None]]:
    """(year, quarter, level, objectives, graded, average grade) of the live objectives the
    caller may see."""
    statement = (
        select(
            Objective.year,
            Objective.quarter,
            Objective.level,
            func.count(),
            func.count(Objective.grade),
            func.avg(Objective.grade),
        )
        .where(LIVE, visible_to(actor))
        .group_by(Objective.year, Objective.quarter, Objective.level)
    )
    return (await session.execute(statement)).all()


async def graded_below(session: AsyncSession, root_id: int) -> Sequence[Objective]:
    """The graded live objectives under `root_id` (the first few: one is enough to refuse)."""
    statement = (
        select(Objective)
        .where(Objective.id.in_(subtree_ids(root_id)), LIVE, Objective.grade.is_not(None))
        .limit(1)
    )
    return (await session.scalars(statement)).all()
