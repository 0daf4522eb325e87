"""Write use cases of the objectives service: each runs in the caller's transaction, records
the audit trail, and puts its events in the outbox of that same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import freezing, link_repository, period_repository, repository
from okr_objectives.audit import plain, record_audit, written
from okr_objectives.errors import (
    InvalidHierarchy,
    NotAllowed,
    ObjectiveNotFound,
    ProgressDriven,
    StaleVersion,
)
from okr_objectives.models import Objective
from okr_objectives.permissions import (
    ensure_admin,
    ensure_can_create,
    ensure_can_delete_subtree,
    ensure_can_place,
    ensure_can_update,
    ensure_objectives_role,
    found,
)
from okr_objectives.views import link_state, link_view, response, state
from okr_shared import channels, subjects
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objective_events import (
    ObjectiveCreated,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectivesRestored,
    ObjectiveUpdated,
)
from okr_shared.contracts.objective_rpc import (
    CreateObjective,
    DeleteObjective,
    LinkKpi,
    MoveObjective,
    ObjectiveRequest,
    ObjectiveWrite,
    UnlinkKpi,
    UpdateObjective,
)
from okr_shared.contracts.objectives import (
    ObjectiveCreate,
    ObjectiveKPILink,
    ObjectiveLevel,
    ObjectiveResponse,
)
from okr_shared.errors import Conflict, Invalid, NotFound
from okr_shared.outbox import Outbox

PUBLISHES = channels.OBJECTIVE_EVENTS

T = TypeVar("T")
EVENT_BATCH = 500  # objectives per delete/restore event: keeps each message well under 1 MiB


async def create_objective(
    session: AsyncSession, outbox: Outbox, request: CreateObjective
) -> ObjectiveWrite[ObjectiveResponse]:
    data, actor = request.data, request.actor
    department = data.department or request.owner_department
    ensure_can_create(actor, data.level, request.owner_id, department)
    if data.level is ObjectiveLevel.COMPANY and data.parent_id is not None:
        raise InvalidHierarchy("a company objective has no parent; leave parent_id null")
    await freezing.ensure_open(session, [(data.year, data.quarter.value if data.quarter else None)])
    if data.parent_id is not None:
        await repository.share_tree(session)
        parent = await repository.get_live_for_share(session, data.parent_id, seen_by=actor)
        check_fits_under(data.level, parent, data.parent_id, "parent_id")
    values = new_values(actor, data, request.owner_id, department, data.parent_id)
    objective = await repository.insert_objective(session, values)
    await record_audit(session, actor, "created", [(objective.id, created_diff(values))])
    events = [ObjectiveCreated(objective=state(objective))]
    await outbox.add(session, subjects.OBJECTIVE_CREATED, events)
    return written(response(objective), events)


def new_values(
    actor: Actor,
    data: ObjectiveCreate,
    owner_id: int,
    department: str | None,
    parent_id: int | None,
) -> dict[str, Any]:
    """The row of a new objective."""
    start, end = data.period()
    return {
        **data.model_dump(include={"title", "description", "year"}),
        "parent_id": parent_id,
        "level": data.level.value,
        "quarter": data.quarter.value if data.quarter else None,
        "status": data.status.value,
        "progress_percentage": data.progress_percentage,
        "manual_progress": data.progress_percentage,
        "owner_id": owner_id,
        "department": department,
        "start_date": start,
        "end_date": end,
        "created_by": actor.user_id,
        "version": 1,
    }


def created_diff(values: dict[str, Any]) -> dict[str, list[Any]]:
    """A creation's audit entry: every field from nothing to its value."""
    return {k: [None, plain(v)] for k, v in values.items() if k not in ("created_by", "version")}


async def update_objective(
    session: AsyncSession, outbox: Outbox, request: UpdateObjective
) -> ObjectiveWrite[ObjectiveResponse]:
    actor, changes = request.actor, request.changes.changes()
    ensure_objectives_role(actor)
    if "parent_id" in changes and actor.role is Role.ADMIN:
        await repository.lock_tree(session)  # before the row lock, in the order move takes them
    objective = await _for_update(session, actor, request.objective_id)
    ensure_can_update(actor, objective)
    if changes.get("parent_id", objective.parent_id) != objective.parent_id:
        ensure_admin(actor, "move")
    _check_version(objective, _one_version(request.expected_version, request.changes.version))
    values = await _update_values(session, actor, objective, changes)
    if "year" in values or "quarter" in values:
        period = (values.get("year", objective.year), values.get("quarter", objective.quarter))
        await freezing.ensure_open(session, [period])
    diff = {
        k: [plain(getattr(objective, k)), plain(v)]
        for k, v in values.items()
        if plain(getattr(objective, k)) != plain(v)
    }
    if not diff:
        return written(response(objective))
    previous_parent = objective.parent_id
    updated = await repository.update_objective(session, objective.id, values)
    moved = "parent_id" in diff
    await record_audit(session, actor, "moved" if moved else "updated", [(updated.id, diff)])
    if moved:
        event: ObjectiveMoved | ObjectiveUpdated = ObjectiveMoved(
            objective=state(updated), previous_parent_id=previous_parent, changed=sorted(diff)
        )
    else:
        event = ObjectiveUpdated(objective=state(updated), changed=sorted(diff))
    subject = subjects.OBJECTIVE_MOVED if moved else subjects.OBJECTIVE_UPDATED
    await outbox.add(session, subject, [event])
    return written(response(updated), [event])


async def _update_values(
    session: AsyncSession, actor: Actor, objective: Objective, changes: dict[str, Any]
) -> dict[str, Any]:
    values = {k: v.value if isinstance(v, Enum) else v for k, v in changes.items()}
    if "parent_id" in values and values["parent_id"] != objective.parent_id:
        ensure_admin(actor, "move")
        await _check_new_parent(session, actor, objective, values["parent_id"])
    if actor.role is Role.EMPLOYEE and values.get("owner_id", actor.user_id) != actor.user_id:
        raise NotAllowed("an employee cannot give their objective to someone else")
    if "department" in values:
        ensure_can_place(actor, values["department"])
    if "progress_percentage" in values:
        if await repository.drives_progress(session, objective.id):
            raise ProgressDriven(objective.id)
        values["manual_progress"] = values["progress_percentage"]
    start = values.get("start_date", objective.start_date)
    end = values.get("end_date", objective.end_date)
    if end < start:
        raise Invalid(f"end_date ({end}) must not be before start_date ({start})")
    return values


async def move_objective(
    session: AsyncSession, outbox: Outbox, request: MoveObjective
) -> ObjectiveWrite[ObjectiveResponse]:
    actor = request.actor
    ensure_objectives_role(actor)
    ensure_admin(actor, "move")
    await repository.lock_tree(session)
    objective = await _for_update(session, actor, request.objective_id)
    _check_version(objective, request.expected_version)
    if request.new_parent_id == objective.parent_id:
        return written(response(objective))
    await _check_new_parent(session, actor, objective, request.new_parent_id)
    previous_parent = objective.parent_id
    moved = await repository.update_objective(
        session, objective.id, {"parent_id": request.new_parent_id}
    )
    await record_audit(
        session, actor, "moved", [(moved.id, {"parent_id": [previous_parent, moved.parent_id]})]
    )
    event = ObjectiveMoved(objective=state(moved), previous_parent_id=previous_parent)
    await outbox.add(session, subjects.OBJECTIVE_MOVED, [event])
    return written(response(moved), [event])


async def delete_objective(
    session: AsyncSession, outbox: Outbox, request: DeleteObjective
) -> ObjectiveWrite[None]:
    actor = request.actor
    ensure_objectives_role(actor)
    await repository.lock_tree(session)
    objective = await _for_update(session, actor, request.objective_id)
    below = [] if actor.is_admin else await repository.live_subtree(session, objective.id)
    ensure_can_delete_subtree(actor, objective, below)
    for graded in await period_repository.graded_below(session, objective.id):
        await freezing.ensure_not_frozen(session, graded)  # a subtree's delete touches them all
    _check_version(objective, request.expected_version)
    deleted = await repository.delete_subtree(session, objective.id)
    entries = [
        (
            o.id,
            {"deleted_at": [None, plain(o.deleted_at)]}
            | ({} if o.id == objective.id else {"deleted_with": [None, objective.id]}),
        )
        for o in deleted
    ]
    await record_audit(session, actor, "deleted", entries)
    events = await _publish_states(
        session, outbox, subjects.OBJECTIVE_DELETED, ObjectivesDeleted, deleted
    )
    return written(None, events)


async def restore_objective(
    session: AsyncSession, outbox: Outbox, request: ObjectiveRequest
) -> ObjectiveWrite[ObjectiveResponse]:
    actor = request.actor
    ensure_objectives_role(actor)
    ensure_admin(actor, "restore")
    await repository.lock_tree(session)
    objective = await repository.get_objective(
        session, request.objective_id, seen_by=actor, for_update=True, live=False
    )
    if objective is None:
        raise ObjectiveNotFound(request.objective_id)
    if objective.deleted_at is None:
        raise Conflict(f"objective {objective.id} is not deleted")
    if (
        objective.parent_id is not None
        # Whoever restores, a parent that is deleted cannot take its child back.
        and await repository.get_objective(session, objective.parent_id, seen_by=None) is None
    ):
        raise Conflict(
            f"its parent, objective {objective.parent_id}, is deleted: restore that first"
        )
    deleted_at = objective.deleted_at  # the restore refreshes this very object
    restored = await repository.restore_subtree(session, objective.id, deleted_at)
    await freezing.ensure_open(session, {(o.year, o.quarter) for o in restored})
    entries = [(o.id, {"deleted_at": [plain(deleted_at), None]}) for o in restored]
    await record_audit(session, actor, "restored", entries)
    events = await _publish_states(
        session, outbox, subjects.OBJECTIVE_RESTORED, ObjectivesRestored, restored
    )
    return written(response(next(o for o in restored if o.id == objective.id)), events)


async def link_kpi(
    session: AsyncSession, outbox: Outbox, request: LinkKpi
) -> ObjectiveWrite[ObjectiveKPILink]:
    """Link a KPI (the gateway has checked that it exists), or change the weight of a link."""
    actor = request.actor
    objective = await _for_update(session, actor, request.objective_id)
    ensure_can_update(actor, objective)
    kpi_id, weight = request.link.kpi_id, request.link.weight
    existing = await link_repository.get_link(session, objective.id, kpi_id)
    before = existing.weight if existing and existing.deleted_at is None else None
    link = await link_repository.upsert_link(session, objective.id, kpi_id, weight, actor.user_id)
    await record_audit(
        session, actor, "kpi_linked", [(objective.id, {f"kpi:{kpi_id}": [before, weight]})]
    )
    events = [ObjectiveKpiLinked(link=link_state(link))]
    await outbox.add(session, subjects.OBJECTIVE_KPI_LINKED, events)
    return written(link_view(link), events)


async def unlink_kpi(
    session: AsyncSession, outbox: Outbox, request: UnlinkKpi
) -> ObjectiveWrite[None]:
    actor = request.actor
    objective = await _for_update(session, actor, request.objective_id)
    ensure_can_update(actor, objective)
    link = await link_repository.unlink(session, objective.id, request.kpi_id)
    if link is None:
        raise NotFound(f"objective {objective.id} has no link to KPI {request.kpi_id}")
    await record_audit(
        session,
        actor,
        "kpi_unlinked",
        [(objective.id, {f"kpi:{request.kpi_id}": [link.weight, None]})],
    )
    events = [ObjectiveKpiUnlinked(link=link_state(link))]
    await outbox.add(session, subjects.OBJECTIVE_KPI_UNLINKED, events)
    return written(None, events)


# --- rules shared by the commands ------------------------------------------------------------


async def _for_update(session: AsyncSession, actor: Actor, objective_id: int) -> Objective:
    """The objective to change, locked: refused if it is out of view, or frozen."""
    ensure_objectives_role(actor)
    objective = found(
        await repository.get_objective(session, objective_id, seen_by=actor, for_update=True),
        objective_id,
    )
    await freezing.ensure_not_frozen(session, objective)
    return objective


def _one_version(if_match: int | None, in_body: int | None) -> int | None:
    if if_match is not None and in_body is not None and if_match != in_body:
        raise Invalid(f"If-Match says version {if_match} but the body says {in_body}; send one")
    return if_match if if_match is not None else in_body


def _check_version(objective: Objective, expected: int | None) -> None:
    if expected is not None and expected != objective.version:
        raise StaleVersion(objective.id, expected, objective.version)


def check_fits_under(
    level: ObjectiveLevel, parent: Objective | None, parent_id: int, field: str
) -> Objective:
    """`parent` as the caller sees it: None if missing or out of their view."""
    if parent is None:
        raise InvalidHierarchy(f"{field} {parent_id}: no such objective")
    parent_level = ObjectiveLevel(parent.level)
    if level.rank <= parent_level.rank:
        raise InvalidHierarchy(
            f"a {level.value} objective cannot sit under a {parent_level.value} objective; "
            "a child's level must be below its parent's (company > division > team > individual)"
        )
    return parent


async def _check_new_parent(
    session: AsyncSession, actor: Actor, objective: Objective, new_parent_id: int | None
) -> None:
    level = ObjectiveLevel(objective.level)
    if new_parent_id is None:
        return
    if level is ObjectiveLevel.COMPANY:
        raise InvalidHierarchy("a company objective has no parent")
    parent = await repository.get_objective(session, new_parent_id, seen_by=actor)
    if parent is None:
        raise InvalidHierarchy(f"new parent {new_parent_id}: no such objective")
    if await repository.is_in_subtree(session, new_parent_id, objective.id):
        raise InvalidHierarchy(
            f"objective {new_parent_id} is objective {objective.id} or below it: "
            "moving there would make a cycle"
        )
    check_fits_under(level, parent, new_parent_id, "new parent")


async def _publish_states(
    session: AsyncSession,
    outbox: Outbox,
    subject: str,
    event_type: type[ObjectivesDeleted] | type[ObjectivesRestored],
    objectives: Sequence[Objective],
) -> list[ObjectivesDeleted | ObjectivesRestored]:
    states = [state(o) for o in objectives]
    events = [
        event_type(objectives=states[i : i + EVENT_BATCH])
        for i in range(0, len(states), EVENT_BATCH)
    ]
    await outbox.add(session, subject, events)
    return events
