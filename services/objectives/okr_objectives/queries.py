"""Read use cases of the objectives service: plain async functions over a session."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import link_repository, repository, view_repository
from okr_objectives.models import Objective
from okr_objectives.permissions import (
    allowed_actions,
    creatable_levels,
    ensure_objectives_role,
    found,
)
from okr_objectives.views import audit_view, link_state, link_view, response, state
from okr_shared.contracts.common import Actor, Page
from okr_shared.contracts.objective_rpc import (
    CreatableLevelsRequest,
    GanttView,
    ListObjectives,
    ObjectiveFilters,
    ObjectiveRequest,
    ObjectivesByKpi,
    ReportObjectives,
    StatsSummary,
    TreeLevel,
    TreeView,
    VisibleIds,
    VisibleOwners,
)
from okr_shared.contracts.objectives import (
    AuditEntry,
    CreatableLevels,
    KpiWeight,
    ObjectiveDetail,
    ObjectiveGanttItem,
    ObjectiveKPILink,
    ObjectiveLevel,
    ObjectiveReportRow,
    ObjectiveResponse,
    ObjectiveStats,
    ObjectiveStatus,
    ObjectiveTreeItem,
)
from okr_shared.contracts.progress import ObjectivesExport
from okr_shared.pace import Health
from okr_shared.tree_json import render_forest

_gantt = TypeAdapter(list[ObjectiveGanttItem])


async def _visible(session: AsyncSession, actor: Actor, objective_id: int) -> Objective:
    ensure_objectives_role(actor)
    return found(await repository.get_objective(session, objective_id, seen_by=actor), objective_id)


async def get_objective(session: AsyncSession, request: ObjectiveRequest) -> ObjectiveDetail:
    objective = await _visible(session, request.actor, request.objective_id)
    child_count, kpi_count, parent_title = await repository.detail_counts(
        session, request.actor, objective
    )
    return ObjectiveDetail(
        **response(objective).model_dump(),
        owner_name=None,  # the gateway knows users: it fills this in
        parent_title=parent_title,
        child_count=child_count,
        kpi_count=kpi_count,
        allowed_actions=allowed_actions(request.actor, objective),
    )


def levels_to_create(request: CreatableLevelsRequest) -> CreatableLevels:
    return CreatableLevels(levels=creatable_levels(request.actor))


async def list_objectives(
    session: AsyncSession, request: ListObjectives
) -> Page[ObjectiveResponse]:
    ensure_objectives_role(request.actor)
    rows, total = await repository.list_objectives(
        session, request.actor, request.filters, request.skip, request.limit
    )
    return Page(
        items=[response(o) for o in rows], total=total, skip=request.skip, limit=request.limit
    )


async def visible_owners(session: AsyncSession, request: VisibleOwners) -> list[int]:
    ensure_objectives_role(request.actor)
    if not request.user_ids:
        return []
    return await repository.visible_owners(session, request.actor, request.user_ids)


async def visible_ids(session: AsyncSession, request: VisibleIds) -> list[int]:
    ensure_objectives_role(request.actor)
    if request.root_id is not None:
        await _visible(session, request.actor, request.root_id)
    return await repository.visible_ids(
        session, request.actor, request.root_id, request.objective_ids
    )


async def children(session: AsyncSession, request: ObjectiveRequest) -> list[ObjectiveResponse]:
    await _visible(session, request.actor, request.objective_id)
    return [
        response(o) for o in await repository.children(session, request.actor, request.objective_id)
    ]


async def ancestors(session: AsyncSession, request: ObjectiveRequest) -> list[ObjectiveResponse]:
    await _visible(session, request.actor, request.objective_id)
    return [
        response(o)
        for o in await repository.ancestors(session, request.actor, request.objective_id)
    ]


async def tree_view(session: AsyncSession, request: TreeView) -> bytes:
    """The JSON of a list of ObjectiveTreeNode: the trees under `root_id`, or every tree."""
    ensure_objectives_role(request.actor)
    filters = ObjectiveFilters(year=request.year, quarter=request.quarter, status=request.status)
    if request.root_id is None:
        rows = await view_repository.tree_heads(session, request.actor, filters)
    else:
        await _visible(session, request.actor, request.root_id)
        rows = await view_repository.subtree_heads(session, request.actor, request.root_id, filters)
    return render_forest(rows)


async def tree_level(session: AsyncSession, request: TreeLevel) -> list[ObjectiveTreeItem]:
    """A level of the tree view, for a tree that loads as it is opened: its roots, or the
    children of `parent_id` (which must be in view)."""
    ensure_objectives_role(request.actor)
    if request.parent_id is not None:
        await _visible(session, request.actor, request.parent_id)
    rows = await view_repository.tree_level(session, request.actor, request.parent_id)
    return [
        ObjectiveTreeItem(**response(objective).model_dump(), child_count=count)
        for objective, count in rows
    ]


async def gantt_view(session: AsyncSession, request: GanttView) -> bytes:
    """The JSON of a list of ObjectiveGanttItem; dependencies are the children in the list."""
    ensure_objectives_role(request.actor)
    rows = await view_repository.tree_rows(session, request.actor, request.filters)
    children: dict[int, list[int]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row.id)
    items = [
        ObjectiveGanttItem(
            id=row.id,
            title=row.title,
            level=ObjectiveLevel(row.level),
            start=row.start_date,
            end=row.end_date,
            progress=row.progress_percentage,
            parent_id=row.parent_id,
            dependencies=children.get(row.id, []),
        )
        for row in rows
    ]
    return _gantt.dump_json(items)


async def stats(session: AsyncSession, request: StatsSummary) -> ObjectiveStats:
    ensure_objectives_role(request.actor)
    filters = ObjectiveFilters(owner_id=request.owner_id, year=request.year)
    rows = await view_repository.stats_rows(session, request.actor, filters)
    by_level = {level.value: 0 for level in ObjectiveLevel}
    by_status = {status.value: 0 for status in ObjectiveStatus}
    by_health = {health.value: 0 for health in Health}
    total, progress = 0, 0.0
    for level, status, health, count, summed in rows:
        by_level[level] += count
        by_status[status] += count
        by_health[health] += count
        total += count
        progress += summed or 0.0
    average = round(progress / total, 6) if total else None
    return ObjectiveStats(
        total=total,
        by_level=by_level,
        by_status=by_status,
        by_health=by_health,
        average_progress=average,
    )


async def history(session: AsyncSession, request: ObjectiveRequest) -> list[AuditEntry]:
    await _visible(session, request.actor, request.objective_id)
    return [audit_view(e) for e in await repository.history(session, request.objective_id)]


async def links(session: AsyncSession, request: ObjectiveRequest) -> list[ObjectiveKPILink]:
    await _visible(session, request.actor, request.objective_id)
    return [
        link_view(link)
        for link in await link_repository.active_links(session, request.objective_id)
    ]


async def linking_kpi(session: AsyncSession, request: ObjectivesByKpi) -> list[ObjectiveResponse]:
    ensure_objectives_role(request.actor)
    return [
        response(o) for o in await link_repository.linking(session, request.actor, request.kpi_id)
    ]


async def report(session: AsyncSession, request: ReportObjectives) -> list[ObjectiveReportRow]:
    """What an export lists: every live objective the caller may see, in id order."""
    ensure_objectives_role(request.actor)
    filters = ObjectiveFilters(year=request.year, quarter=request.quarter)
    rows = await repository.all_in_view(session, request.actor, filters)
    links: dict[int, list[KpiWeight]] = {}
    for link in await link_repository.active_links_of(session, [o.id for o in rows]):
        links.setdefault(link.objective_id, []).append(
            KpiWeight(kpi_id=link.kpi_id, weight=link.weight)
        )
    return [ObjectiveReportRow(**response(o).model_dump(), kpis=links.get(o.id, [])) for o in rows]


async def export(session: AsyncSession) -> bytes:
    """Every objective (deleted ones too) and link, as the states events carry: a rebuild of
    the progress projection starts from this."""
    found = ObjectivesExport(
        objectives=[state(o) for o in await repository.all_objectives(session)],
        links=[link_state(link) for link in await link_repository.all_links(session)],
    )
    return found.model_dump_json().encode()
