"""Every SQL statement of the objectives service. Repositories never commit.

Each function is one statement (or a fixed few), whatever the size of the tree: subtrees,
ancestors and cycle checks are recursive CTEs over the `parent_id` index.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import pace_sql
from okr_objectives.models import AuditEntry, KpiLink, Objective
from okr_shared import pace
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objective_rpc import ObjectiveFilters
from okr_shared.contracts.progress import ObjectiveProgressUpdated

TREE_LOCK = 0x6F6B72  # pg_advisory_xact_lock key: one structural change of the tree at a time


def visible_to(actor: Actor, table: type[Objective] = Objective) -> ColumnElement[bool]:
    """The view rule of the permission matrix, as SQL (see permissions.can_view), on the
    objectives table or an alias of it (`table`)."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.MANAGER:
        mine = table.owner_id == actor.user_id
        if actor.department is None:
            return mine
        return or_(mine, table.department == actor.department)
    if actor.role is Role.EMPLOYEE:
        return table.owner_id == actor.user_id
    return false()


LIVE = Objective.deleted_at.is_(None)


async def lock_tree(session: AsyncSession) -> None:
    """Serialise moves, deletes and restores: two concurrent moves could each pass the cycle
    check and together make a cycle."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TREE_LOCK})


async def share_tree(session: AsyncSession) -> None:
    """Creates run side by side, but not during a delete, move or restore: a child created
    under a parent while a delete of its ancestor walks the subtree would be left live."""
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": TREE_LOCK})


async def insert_objective(session: AsyncSession, values: dict[str, Any]) -> Objective:
    result = await session.execute(insert(Objective).values(**values).returning(Objective))
    return result.scalar_one()


async def insert_objectives(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[Objective]:
    """Many new objectives in one statement, answered in the order of `rows`."""
    if not rows:
        return []
    statement = insert(Objective).returning(Objective, sort_by_parameter_order=True)
    return list((await session.scalars(statement, list(rows))).all())


async def get_objective(
    session: AsyncSession,
    objective_id: int,
    *,
    seen_by: Actor | None,
    for_update: bool = False,
    live: bool = True,
) -> Objective | None:
    """The objective, if `seen_by` may see it (None: the service's own look, for a rule that
    holds whoever asks). Missing and out of view read the same: None."""
    statement = select(Objective).where(Objective.id == objective_id)
    if seen_by is not None:
        statement = statement.where(visible_to(seen_by))
    if live:
        statement = statement.where(LIVE)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_live_for_share(
    session: AsyncSession, objective_id: int, *, seen_by: Actor
) -> Objective | None:
    """A parent about to get a child, if `seen_by` may see it: a concurrent delete of it waits
    for us (and vice versa)."""
    statement = (
        select(Objective)
        .where(Objective.id == objective_id, LIVE, visible_to(seen_by))
        .with_for_update(read=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def live_for_share(
    session: AsyncSession, objective_ids: Collection[int], *, seen_by: Actor
) -> dict[int, Objective]:
    """`get_live_for_share` for many parents at once: those `seen_by` may see, by id."""
    if not objective_ids:
        return {}
    statement = (
        select(Objective)
        .where(Objective.id.in_(objective_ids), LIVE, visible_to(seen_by))
        .with_for_update(read=True)
    )
    return {o.id: o for o in (await session.scalars(statement)).all()}


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def in_view(statement: SelectT, actor: Actor, filters: ObjectiveFilters) -> SelectT:
    conditions = [LIVE, visible_to(actor)]
    for name, value in filters.model_dump(exclude_none=True, exclude={"health"}).items():
        conditions.append(getattr(Objective, name) == getattr(value, "value", value))
    if filters.health is not None:  # a function of today's date, not a column
        conditions.append(pace_sql.health(pace.current(), pace.today()) == filters.health.value)
    return statement.where(*conditions)


async def list_objectives(
    session: AsyncSession, actor: Actor, filters: ObjectiveFilters, skip: int, limit: int
) -> tuple[list[Objective], int]:
    page = in_view(select(Objective), actor, filters).order_by(Objective.id)
    rows = (await session.execute(page.offset(skip).limit(limit))).scalars().all()
    total = await session.scalar(
        in_view(select(func.count()).select_from(Objective), actor, filters)
    )
    return list(rows), int(total or 0)


async def all_in_view(
    session: AsyncSession, actor: Actor, filters: ObjectiveFilters
) -> list[Objective]:
    statement = in_view(select(Objective), actor, filters).order_by(Objective.id)
    return list((await session.scalars(statement)).all())


async def visible_owners(session: AsyncSession, actor: Actor, user_ids: list[int]) -> list[int]:
    """Those of `user_ids` who own a live objective the caller may see."""
    statement = (
        select(Objective.owner_id)
        .where(Objective.owner_id.in_(user_ids), LIVE, visible_to(actor))
        .distinct()
        .order_by(Objective.owner_id)
    )
    return list((await session.execute(statement)).scalars().all())


async def visible_ids(
    session: AsyncSession, actor: Actor, root_id: int | None, among: list[int] | None
) -> list[int]:
    """The live objectives the caller may see: under `root_id` and among `among`, if given."""
    statement = select(Objective.id).where(LIVE, visible_to(actor))
    if root_id is not None:
        statement = statement.where(Objective.id.in_(subtree_ids(root_id)))
    if among is not None:
        statement = statement.where(Objective.id.in_(among))
    return list((await session.execute(statement.order_by(Objective.id))).scalars().all())


async def children(session: AsyncSession, actor: Actor, parent_id: int) -> list[Objective]:
    statement = (
        select(Objective)
        .where(Objective.parent_id == parent_id, LIVE, visible_to(actor))
        .order_by(Objective.id)
    )
    return list((await session.execute(statement)).scalars().all())


async def ancestors(session: AsyncSession, actor: Actor, objective_id: int) -> list[Objective]:
    """Nearest parent first, root last; those outside the caller's view are left out."""
    up = (
        select(Objective.id, Objective.parent_id, literal(0).label("depth"))
        .where(Objective.id == objective_id)
        .cte("up", recursive=True)
    )
    parent = select(Objective.id, Objective.parent_id, (up.c.depth + 1).label("depth")).join(
        up, Objective.id == up.c.parent_id
    )
    up = up.union_all(parent)
    statement = (
        select(Objective)
        .join(up, Objective.id == up.c.id)
        .where(up.c.depth > 0, LIVE, visible_to(actor))
        .order_by(up.c.depth)
    )
    return list((await session.execute(statement)).scalars().all())


def subtree_ids(root_id: int, *, deleted_at: datetime | None = None) -> Any:
    """The ids of `root_id` and every descendant: live ones, or those deleted at `deleted_at`
    (a subtree deleted together comes back together)."""
    state = LIVE if deleted_at is None else Objective.deleted_at == deleted_at
    down = select(Objective.id).where(Objective.id == root_id).cte("down", recursive=True)
    down = down.union_all(
        select(Objective.id).join(down, Objective.parent_id == down.c.id).where(state)
    )
    return select(down.c.id)


async def live_subtree(session: AsyncSession, root_id: int) -> list[Objective]:
    """The live objectives below `root_id` (not itself): what a delete of it would take."""
    statement = (
        select(Objective)
        .where(Objective.id.in_(subtree_ids(root_id)), Objective.id != root_id, LIVE)
        .order_by(Objective.id)
    )
    return list((await session.execute(statement)).scalars().all())


async def is_in_subtree(session: AsyncSession, candidate_id: int, root_id: int) -> bool:
    """Whether `candidate_id` is `root_id` or below it: walking up from the candidate."""
    up = select(Objective.id, Objective.parent_id).where(Objective.id == candidate_id)
    up_cte = up.cte("up", recursive=True)
    up_cte = up_cte.union_all(
        select(Objective.id, Objective.parent_id).join(up_cte, Objective.id == up_cte.c.parent_id)
    )
    return bool(await session.scalar(select(exists().where(up_cte.c.id == root_id))))


async def update_objective(
    session: AsyncSession, objective_id: int, values: dict[str, Any]
) -> Objective:
    statement = (
        update(Objective)
        .where(Objective.id == objective_id)
        .values(**values, version=Objective.version + 1, updated_at=func.now())
        .returning(Objective)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def delete_subtree(session: AsyncSession, root_id: int) -> list[Objective]:
    statement = (
        update(Objective)
        .where(Objective.id.in_(subtree_ids(root_id)), LIVE)
        .values(deleted_at=func.now(), version=Objective.version + 1, updated_at=func.now())
        .returning(Objective)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.execute(statement)).scalars().all())


async def restore_subtree(
    session: AsyncSession, root_id: int, deleted_at: datetime
) -> list[Objective]:
    statement = (
        update(Objective)
        .where(
            Objective.id.in_(subtree_ids(root_id, deleted_at=deleted_at)),
            Objective.deleted_at == deleted_at,
        )
        .values(deleted_at=None, version=Objective.version + 1, updated_at=func.now())
        .returning(Objective)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.execute(statement)).scalars().all())


async def detail_counts(
    session: AsyncSession, actor: Actor, objective: Objective
) -> tuple[int, int, str | None]:
    """(visible live children, active KPI links, the parent's title if the caller may see the
    parent) in one round trip."""
    child = (
        select(func.count())
        .where(Objective.parent_id == objective.id, LIVE, visible_to(actor))
        .scalar_subquery()
    )
    links = (
        select(func.count())
        .where(KpiLink.objective_id == objective.id, KpiLink.deleted_at.is_(None))
        .scalar_subquery()
    )
    parent_title = (
        select(Objective.title)
        .where(Objective.id == objective.parent_id, LIVE, visible_to(actor))
        .scalar_subquery()
    )
    row = (await session.execute(select(child, links, parent_title))).one()
    return int(row[0]), int(row[1]), row[2]


async def drives_progress(session: AsyncSession, objective_id: int) -> bool:
    """Whether children (not abandoned) or active KPI links drive the objective's progress."""
    live_children = exists().where(
        Objective.parent_id == objective_id, LIVE, Objective.status != "abandoned"
    )
    active_links = exists().where(
        KpiLink.objective_id == objective_id, KpiLink.deleted_at.is_(None)
    )
    row = (await session.execute(select(live_children, active_links))).one()
    return bool(row[0] or row[1])


# --- audit ----------------------------------------------------------------------------------


async def record(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    if entries:
        await session.execute(insert(AuditEntry), list(entries))


async def history(session: AsyncSession, objective_id: int) -> list[AuditEntry]:
    statement = (
        select(AuditEntry)
        .where(AuditEntry.objective_id == objective_id)
        .order_by(AuditEntry.id.desc())
    )
    return list((await session.execute(statement)).scalars().all())


async def apply_rollups(session: AsyncSession, updates: Sequence[ObjectiveProgressUpdated]) -> None:
    """Show the progress service's rollups; each applies only if newer than the one shown, and
    not to a graded objective (a rollup made before its period closed may arrive after)."""
    if not updates:
        return
    rows = [
        {"b_id": u.objective_id, "b_progress": u.progress_percentage, "b_version": u.version}
        for u in updates
    ]
    table: Table = Objective.__table__  # type: ignore[assignment]
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.progress_version < bindparam("b_version"),
            table.c.grade.is_(None),
        )
        .values(
            progress_percentage=bindparam("b_progress"), progress_version=bindparam("b_version")
        )
    )
    await (await session.connection()).execute(statement, rows)


async def all_objectives(session: AsyncSession) -> list[Objective]:
    return list((await session.execute(select(Objective).order_by(Objective.id))).scalars().all())
