"""Import: many objectives and their KPI links in one transaction, every row checked first.

Each row passes the rules a single create does (who may create what where, a parent the
caller sees and a level below it's); a problem in any row refuses the whole import with every
problem listed, so a corrected file can simply be sent again. Rows are inserted a level at a
time (company first): a row's parent is a row of a level above, so it has its id by then.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import freezing, link_repository, repository
from okr_objectives.audit import record_audit, written
from okr_objectives.commands import created_diff, new_values
from okr_objectives.models import Objective
from okr_objectives.permissions import ensure_can_create, ensure_objectives_role
from okr_objectives.views import link_state, state
from okr_shared import subjects
from okr_shared.contracts.objective_events import ObjectiveCreated, ObjectiveKpiLinked
from okr_shared.contracts.objective_import import (
    ImportedObjective,
    ImportItem,
    ImportObjectives,
    ImportProblem,
    ImportReport,
    refusal,
)
from okr_shared.contracts.objective_rpc import ObjectiveWrite
from okr_shared.contracts.objectives import ObjectiveLevel
from okr_shared.errors import OkrError
from okr_shared.outbox import Outbox


async def import_objectives(
    session: AsyncSession, outbox: Outbox, request: ImportObjectives, items: list[ImportItem]
) -> ObjectiveWrite[ImportReport]:
    actor = request.actor
    ensure_objectives_role(actor)
    await repository.share_tree(session)  # parents stay live until we commit, as a create's
    wanted = {i.parent_id for i in items if i.parent_id is not None}
    parents = await repository.live_for_share(session, wanted, seen_by=actor)
    problems = _problems(request, items, parents, await freezing.closed_periods(session))
    if problems:
        raise refusal(problems, len(items))
    links = sum(len(i.links) for i in items)
    if request.dry_run:
        return written(ImportReport(dry_run=True, objectives=len(items), links=links))

    ids: dict[str, int] = {}
    created: list[tuple[ImportItem, Objective]] = []
    entries: list[tuple[int, dict[str, list[Any]]]] = []  # the audit trail's
    for level in ObjectiveLevel:
        batch = [i for i in items if i.data.level is level]
        rows = [
            new_values(
                actor,
                item.data,
                item.data.owner_id or actor.user_id,
                item.data.department or item.owner_department,
                ids[item.parent_key] if item.parent_key is not None else item.parent_id,
            )
            for item in batch
        ]
        inserted = await repository.insert_objectives(session, rows)
        for item, values, objective in zip(batch, rows, inserted, strict=True):
            ids[item.key] = objective.id
            created.append((item, objective))
            entries.append((objective.id, created_diff(values)))
    made = await link_repository.insert_links(
        session,
        [
            {
                "objective_id": o.id,
                "kpi_id": link.kpi_id,
                "weight": link.weight,
                "created_by": actor.user_id,
                "version": 1,
            }
            for item, o in created
            for link in item.links
        ],
    )
    await record_audit(session, actor, "created", entries)
    await record_audit(
        session,
        actor,
        "kpi_linked",
        [(link.objective_id, {f"kpi:{link.kpi_id}": [None, link.weight]}) for link in made],
    )
    objective_events = [ObjectiveCreated(objective=state(o)) for _, o in created]
    link_events = [ObjectiveKpiLinked(link=link_state(link)) for link in made]
    await outbox.add(session, subjects.OBJECTIVE_CREATED, objective_events)
    await outbox.add(session, subjects.OBJECTIVE_KPI_LINKED, link_events)
    report = ImportReport(
        dry_run=False,
        objectives=len(created),
        links=len(made),
        created=[ImportedObjective(key=i.key, id=o.id) for i, o in created],
    )
    return written(report, [*objective_events, *link_events])


def _problems(
    request: ImportObjectives,
    items: list[ImportItem],
    parents: dict[int, Objective],
    closed: set[tuple[int, str]],
) -> list[ImportProblem]:
    actor = request.actor
    levels = {i.key: i.data.level for i in items}
    problems: list[ImportProblem] = []

    def problem(item: ImportItem, field: str | None, message: str) -> None:
        problems.append(ImportProblem(row=item.row, key=item.key, field=field, message=message))

    for item in items:
        data = item.data
        try:
            ensure_can_create(
                actor,
                data.level,
                data.owner_id or actor.user_id,
                data.department or item.owner_department,
            )
        except OkrError as err:
            problem(item, None, err.message)
        quarter = data.quarter.value if data.quarter else None
        if (refused := freezing.closed_one(closed, data.year, quarter)) is not None:
            field = "quarter" if refused != str(data.year) else "year"
            problem(item, field, f"the period {refused} is closed (an admin may reopen it)")
        if item.parent_key is None and item.parent_id is None:
            continue
        parent = item.parent_key or str(item.parent_id)
        if data.level is ObjectiveLevel.COMPANY:
            problem(item, "parent", "a company objective has no parent; leave parent empty")
            continue
        if item.parent_key is not None:
            parent_level = levels[item.parent_key]
        elif (found := parents.get(item.parent_id or 0)) is not None:
            parent_level = ObjectiveLevel(found.level)
        else:
            problem(item, "parent", f"{parent}: no row has that key, and no objective that id")
            continue
        if data.level.rank <= parent_level.rank:
            problem(
                item,
                "parent",
                f"a {data.level.value} objective cannot sit under a {parent_level.value} one "
                f"({parent}): a child's level is below its parent's "
                "(company > division > team > individual)",
            )
    return sorted(problems, key=lambda p: p.row)
