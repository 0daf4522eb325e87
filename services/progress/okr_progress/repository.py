"""Every SQL statement of the progress service. Repositories never commit."""

from __future__ import annotations

import typing
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from sqlalchemy import (
    Table,
    bindparam,
    cast,
    delete,
    func,
    literal,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger

from okr_progress.models import KpiNode, LinkNode, ObjectiveNode
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import LinkState, ObjectiveState
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.db import rows_per_statement

OBJECTIVES: Table = ObjectiveNode.__table__  # type: ignore[assignment]


async def upsert_objectives(
    session: AsyncSession, states: Sequence[ObjectiveState], *, newer_only: bool = True
) -> None:
    """As few statements as PostgreSQL's parameter limit allows; a row changes only when the
    event is newer (unless a rebuild says the states are the truth)."""
    rows = [
        {
            "id": s.id,
            "parent_id": s.parent_id,
            "level": s.level.value,
            "status": s.status.value,
            "manual_progress": s.manual_progress,
            "deleted": s.deleted,
            "version": s.version,
        }
        for s in states
    ]
    step = rows_per_statement(ObjectiveNode.__table__)
    for start in range(0, len(rows), step):
        statement = insert(ObjectiveNode).values(rows[start : start + step])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ObjectiveNode.id],
                set_={c: statement.excluded[c] for c in rows[0] if c != "id"},
                where=(ObjectiveNode.version < statement.excluded.version) if newer_only else None,
            )
        )


async def upsert_links(session: AsyncSession, links: Sequence[LinkState]) -> None:
    rows = [link.model_dump() for link in links]
    step = rows_per_statement(LinkNode.__table__)
    for start in range(0, len(rows), step):
        statement = insert(LinkNode).values(rows[start : start + step])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[LinkNode.objective_id, LinkNode.kpi_id],
                set_={
                    "weight": statement.excluded.weight,
                    "active": statement.excluded.active,
                    "version": statement.excluded.version,
                },
                where=LinkNode.version < statement.excluded.version,
            )
        )


async def hold_objectives(session: AsyncSession, ids: Collection[int]) -> None:
    """Make sure rows exist for the objectives that events being applied name, as deleted
    placeholders (version 0) until their own objective.created arrives.

    Two workers may apply an objective's creation and a link to it (or a child of it) at once:
    without a row to meet on, the link's worker would find no objective to roll up, and the
    creator would not see the uncommitted link. Inserting the same key makes the later one wait
    for the earlier one's commit, and then read what it wrote."""
    if not ids:
        return
    # One array parameter, whatever the number of ids (a period's close names 100,000): rows
    # in id order, the order their locks are taken in.
    placeholders = select(
        func.unnest(_ids(ids)).column_valued("id"),
        null(),
        literal("individual"),
        literal("active"),
        literal(0.0),
        true(),
        literal(0),
    )
    columns = ["id", "parent_id", "level", "status", "manual_progress", "deleted", "version"]
    await session.execute(
        insert(ObjectiveNode)
        .from_select(columns, placeholders)
        .on_conflict_do_nothing(index_elements=[ObjectiveNode.id])
    )


async def hold_kpis(session: AsyncSession, kpi_ids: Collection[int]) -> None:
    """Share locks on the KPIs that links being applied name, in id order, with an empty row for
    a KPI that has no value yet (nothing to lock otherwise).

    Without them, a worker applying a link could roll its objective up with a KPI's old value
    while another stores the new value and, not seeing the uncommitted link, leave that
    objective out of its rollup: stale until the KPI's next value. With them, one waits for the
    other's commit and then reads it."""
    if not kpi_ids:
        return
    ids = sorted(kpi_ids)
    await session.execute(
        insert(KpiNode)
        .values([{"id": i, "progress": None, "active": True, "version": 0} for i in ids])
        .on_conflict_do_nothing(index_elements=[KpiNode.id])
    )
    await session.execute(
        select(KpiNode.id)
        .where(KpiNode.id == func.any(_ids(ids)))
        .order_by(KpiNode.id)
        .with_for_update(read=True)
    )


async def upsert_kpis(session: AsyncSession, events: Sequence[KpiProgressChanged]) -> None:
    """Rows in id order: their locks are taken in that order (see hold_kpis)."""
    rows = [
        {"id": e.kpi_id, "progress": e.progress, "active": e.active, "version": e.version}
        for e in sorted(events, key=lambda e: e.kpi_id)
    ]
    step = rows_per_statement(KpiNode.__table__)
    for start in range(0, len(rows), step):
        statement = insert(KpiNode).values(rows[start : start + step])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[KpiNode.id],
                set_={
                    "progress": statement.excluded.progress,
                    "active": statement.excluded.active,
                    "version": statement.excluded.version,
                },
                where=KpiNode.version < statement.excluded.version,
            )
        )


def _ids(values: Collection[int]) -> Any:
    return cast(literal(sorted(values), ARRAY(BigInteger)), ARRAY(BigInteger))


class NodeRow(Protocol):
    """A row of NODE_COLUMNS."""

    id: int
    parent_id: int | None
    status: str
    deleted: bool
    manual_progress: float
    progress: float | None
    calculation_method: str | None
    child_count: int
    kpi_count: int
    progress_version: int
    frozen: bool
    graded_progress: float | None


NODE_COLUMNS = (
    ObjectiveNode.id,
    ObjectiveNode.parent_id,
    ObjectiveNode.status,
    ObjectiveNode.deleted,
    ObjectiveNode.manual_progress,
    ObjectiveNode.progress,
    ObjectiveNode.calculation_method,
    ObjectiveNode.child_count,
    ObjectiveNode.kpi_count,
    ObjectiveNode.progress_version,
    ObjectiveNode.frozen,
    ObjectiveNode.graded_progress,
)


async def lock_closure(session: AsyncSession, seeds: Collection[int]) -> Sequence[NodeRow]:
    """The seeds that exist and all their ancestors (a recursive CTE), locked in id order, as
    they are once locked: one statement. Two workers rolling up through the same ancestor take
    turns, and the second reads what the first wrote."""
    up = (
        select(ObjectiveNode.id, ObjectiveNode.parent_id)
        .where(ObjectiveNode.id == func.any(_ids(seeds)))
        .cte("up", recursive=True)
    )
    up = up.union(
        select(ObjectiveNode.id, ObjectiveNode.parent_id).join(
            up, ObjectiveNode.id == up.c.parent_id
        )
    )
    statement = (
        select(*NODE_COLUMNS)
        .where(ObjectiveNode.id.in_(select(up.c.id)))
        .order_by(ObjectiveNode.id)
        .with_for_update(of=ObjectiveNode)
    )
    return typing.cast(Sequence[NodeRow], (await session.execute(statement)).all())


async def one_snapshot(session: AsyncSession) -> None:
    """Every statement that follows in this transaction sees the same committed state: for a
    read made of several statements that must agree (a subtree, its children, its links)."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def counted_subtree(session: AsyncSession, root_id: int) -> Sequence[NodeRow]:
    """The objective (unless deleted) and every objective below it that its rollup counts:
    down through live, not abandoned children only, as an abandoned subtree counts for
    nothing. One statement (a recursive CTE); UNION stops at a cycle in the data."""
    down = (
        select(ObjectiveNode.id)
        .where(ObjectiveNode.id == root_id, ObjectiveNode.deleted.is_(False))
        .cte("down", recursive=True)
    )
    down = down.union(
        select(ObjectiveNode.id).join(
            down,
            (ObjectiveNode.parent_id == down.c.id)
            & ObjectiveNode.deleted.is_(False)
            & (ObjectiveNode.status != "abandoned"),
        )
    )
    statement = select(*NODE_COLUMNS).join(down, ObjectiveNode.id == down.c.id)
    return typing.cast(Sequence[NodeRow], (await session.execute(statement)).all())


async def nodes(session: AsyncSession, ids: Collection[int]) -> Sequence[NodeRow]:
    statement = select(*NODE_COLUMNS).where(ObjectiveNode.id == func.any(_ids(ids)))
    return typing.cast(Sequence[NodeRow], (await session.execute(statement)).all())


async def counted_children(
    session: AsyncSession, parent_ids: Collection[int]
) -> Sequence[tuple[int, int, float]]:
    """(parent_id, id, progress) of the live, not abandoned children of these objectives."""
    statement = select(
        ObjectiveNode.parent_id,
        ObjectiveNode.id,
        func.coalesce(ObjectiveNode.progress, ObjectiveNode.manual_progress).label("progress"),
    ).where(
        ObjectiveNode.parent_id == func.any(_ids(parent_ids)),
        ObjectiveNode.deleted.is_(False),
        ObjectiveNode.status != "abandoned",
    )
    # Not None, either: the parent is one of `parent_ids`, and manual_progress has a value.
    return typing.cast(Sequence[tuple[int, int, float]], (await session.execute(statement)).all())


async def active_links(
    session: AsyncSession, objective_ids: Collection[int]
) -> Sequence[tuple[int, int, float, float | None]]:
    """(objective_id, kpi_id, weight, kpi progress or null) of the active links of these
    objectives; an archived KPI has no progress here."""
    progress = (
        select(KpiNode.progress)
        .where(KpiNode.id == LinkNode.kpi_id, KpiNode.active)
        .scalar_subquery()
    )
    statement = select(
        LinkNode.objective_id, LinkNode.kpi_id, LinkNode.weight, progress.label("progress")
    ).where(LinkNode.objective_id == func.any(_ids(objective_ids)), LinkNode.active)
    return (await session.execute(statement)).all()


async def objectives_linking(session: AsyncSession, kpi_ids: Collection[int]) -> list[int]:
    statement = (
        select(LinkNode.objective_id)
        .where(LinkNode.kpi_id == func.any(_ids(kpi_ids)), LinkNode.active)
        .distinct()
    )
    return list((await session.execute(statement)).scalars().all())


async def write_rollups(session: AsyncSession, updates: Sequence[ObjectiveProgressUpdated]) -> None:
    """Store recomputed rollups, each as its event will announce it; one executemany."""
    if not updates:
        return
    rows = [
        {
            "b_id": u.objective_id,
            "b_progress": u.progress_percentage,
            "b_method": u.calculation_method.value,
            "b_children": u.child_count,
            "b_kpis": u.kpi_count,
            "b_at": u.last_calculated,
            "b_version": u.version,
        }
        for u in updates
    ]
    statement = (
        update(OBJECTIVES)
        .where(OBJECTIVES.c.id == bindparam("b_id"))
        .values(
            progress=bindparam("b_progress"),
            calculation_method=bindparam("b_method"),
            child_count=bindparam("b_children"),
            kpi_count=bindparam("b_kpis"),
            last_calculated=bindparam("b_at"),
            progress_version=bindparam("b_version"),
        )
    )
    await (await session.connection()).execute(statement, rows)


async def lock_projection(session: AsyncSession) -> None:
    """A rebuild replaces the projection: event batches wait for it, then apply on top (their
    versions decide), instead of interleaving with it."""
    await session.execute(
        text("LOCK TABLE progress.objectives, progress.links, progress.kpis IN EXCLUSIVE MODE")
    )


async def replace_projection(
    session: AsyncSession,
    objectives: Sequence[ObjectiveState],
    links: Sequence[LinkState],
    kpis: Sequence[KpiProgressChanged],
) -> None:
    """Make the projection exactly the exported states (rollup columns are kept, so versions of
    published rollups keep rising)."""
    await session.execute(
        delete(ObjectiveNode).where(ObjectiveNode.id != func.all(_ids([o.id for o in objectives])))
    )
    await session.execute(delete(LinkNode))
    await session.execute(delete(KpiNode))
    await upsert_objectives(session, objectives, newer_only=False)
    await session.execute(update(ObjectiveNode).values(frozen=False, grade_version=0))
    await set_frozen(
        session,
        [
            (o.id, o.grade is not None, o.progress_percentage or 0.0, o.grade_version)
            for o in objectives
            if o.grade_version
        ],
    )
    await upsert_links(session, links)
    await upsert_kpis(session, kpis)


async def set_frozen(
    session: AsyncSession, changes: Sequence[tuple[int, bool, float, int]]
) -> None:
    """(id, frozen, graded progress, grade version): a period closed (frozen at that progress)
    or reopened; each applies only when newer than the one held, so two workers applying a
    close and a reopen in either order end as the later of the two says. The rollup that
    follows makes the progress the graded one (a rollup like any other: published, and a
    point of the history)."""
    rows = [
        {"b_id": i, "b_frozen": frozen, "b_progress": p, "b_version": v}
        for i, frozen, p, v in sorted(changes)
    ]
    if rows:
        statement = (
            update(OBJECTIVES)
            .where(
                OBJECTIVES.c.id == bindparam("b_id"),
                OBJECTIVES.c.grade_version < bindparam("b_version"),
            )
            .values(
                frozen=bindparam("b_frozen"),
                graded_progress=bindparam("b_progress"),
                grade_version=bindparam("b_version"),
            )
        )
        await (await session.connection()).execute(statement, rows)
