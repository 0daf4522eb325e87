"""The objectives service's read-only views as SQL: the tree, the Gantt chart's rows and the
stats summary. Each reads under the caller's view rule (repository.in_view)."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Text, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from okr_objectives import pace_sql
from okr_objectives.models import Objective
from okr_objectives.repository import LIVE, in_view, subtree_ids, visible_to
from okr_shared import pace
from okr_shared.contracts.common import Actor
from okr_shared.contracts.objective_rpc import ObjectiveFilters
from okr_shared.tree_json import TreeHead


async def subtree_heads(
    session: AsyncSession, actor: Actor, root_id: int, filters: ObjectiveFilters
) -> Sequence[TreeHead]:
    statement = in_view(select(*tree_head()), actor, filters).where(
        Objective.id.in_(subtree_ids(root_id))
    )
    rows = (await session.execute(statement.order_by(Objective.id))).all()
    return typing.cast(Sequence[TreeHead], rows)  # a Row answers its labels as attributes


async def tree_level(
    session: AsyncSession, actor: Actor, parent_id: int | None
) -> Sequence[tuple[Objective, int]]:
    """The objectives that start a tree in the caller's view (live, and their parent is not:
    the roots of the tree view), or the live children of `parent_id` in view; each with how
    many live children of its own the caller may see."""
    child, parent = aliased(Objective), aliased(Objective)
    child_count = (
        select(func.count())
        .where(child.parent_id == Objective.id, child.deleted_at.is_(None))
        .where(visible_to(actor, child))
        .scalar_subquery()
    )
    statement = select(Objective, child_count).where(LIVE, visible_to(actor))
    if parent_id is not None:
        statement = statement.where(Objective.parent_id == parent_id)
    else:
        parent_in_view = exists().where(
            parent.id == Objective.parent_id, parent.deleted_at.is_(None), visible_to(actor, parent)
        )
        statement = statement.where(~parent_in_view)
    rows = await session.execute(statement.order_by(Objective.id))
    return typing.cast(Sequence[tuple[Objective, int]], rows.all())


TREE_COLUMNS = (
    Objective.id,
    Objective.title,
    Objective.level,
    Objective.status,
    Objective.parent_id,
    Objective.owner_id,
    Objective.department,
    Objective.year,
    Objective.quarter,
    Objective.start_date,
    Objective.end_date,
    Objective.progress_percentage,
)


class TreeRow(Protocol):
    """A row of TREE_COLUMNS."""

    id: int
    title: str
    level: str
    status: str
    parent_id: int | None
    owner_id: int
    department: str | None
    year: int
    quarter: str | None
    start_date: date
    end_date: date
    progress_percentage: float


async def tree_rows(
    session: AsyncSession, actor: Actor, filters: ObjectiveFilters
) -> Sequence[TreeRow]:
    statement = in_view(select(*TREE_COLUMNS), actor, filters).order_by(Objective.id)
    return typing.cast(Sequence[TreeRow], (await session.execute(statement)).all())


def tree_head() -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    """Each node of the tree view as JSON text without its closing brace, built by PostgreSQL
    (which escapes strings and formats dates): rendering 111,111 nodes in Python took ten times
    longer. Its pace is today's."""
    on, rule = pace.today(), pace.current()
    return (
        Objective.id,
        Objective.parent_id,
        func.left(
            cast(
                func.jsonb_build_object(
                    "id",
                    Objective.id,
                    "title",
                    Objective.title,
                    "level",
                    Objective.level,
                    "status",
                    Objective.status,
                    "parent_id",
                    Objective.parent_id,
                    "owner_id",
                    Objective.owner_id,
                    "department",
                    Objective.department,
                    "year",
                    Objective.year,
                    "quarter",
                    Objective.quarter,
                    "start_date",
                    Objective.start_date,
                    "end_date",
                    Objective.end_date,
                    "progress_percentage",
                    Objective.progress_percentage,
                    "expected_progress",
                    pace_sql.expected_progress(on),
                    "health",
                    pace_sql.health(rule, on),
                    "last_check_in",
                    Objective.last_check_in,
                    "grade",
                    Objective.grade,
                ),
                Text,
            ),
            -1,
        ).label("head"),
    )


async def tree_heads(
    session: AsyncSession, actor: Actor, filters: ObjectiveFilters
) -> Sequence[TreeHead]:
    statement = in_view(select(*tree_head()), actor, filters).order_by(Objective.id)
    return typing.cast(Sequence[TreeHead], (await session.execute(statement)).all())


async def stats_rows(
    session: AsyncSession, actor: Actor, filters: ObjectiveFilters
) -> Sequence[tuple[str, str, str, int, float | None]]:
    """(level, status, health, how many, the sum of their progress) of the objectives in view."""
    health = pace_sql.health(pace.current(), pace.today()).label("health")
    statement = in_view(
        select(
            Objective.level,
            Objective.status,
            health,
            func.count().label("n"),
            func.sum(Objective.progress_percentage).label("progress"),
        ),
        actor,
        filters,
    ).group_by(Objective.level, Objective.status, health)
    return (await session.execute(statement)).all()
