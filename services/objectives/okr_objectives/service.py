"""Use cases of the objectives service: plain async functions over a session. No NATS, no HTTP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import repository
from okr_objectives.errors import InvalidHierarchy, ObjectiveNotFound
from okr_objectives.models import Objective
from okr_objectives.permissions import can_view, ensure_can_create
from okr_shared import subjects
from okr_shared.contracts.objectives import (
    CreateObjective,
    GetObjective,
    ObjectiveCreated,
    ObjectiveLevel,
    ObjectiveResponse,
    ObjectiveState,
)
from okr_shared.outbox import Outbox


async def create_objective(
    session: AsyncSession, outbox: Outbox, request: CreateObjective
) -> ObjectiveResponse:
    data = request.data
    department = data.department or request.owner_department
    ensure_can_create(request.actor, data.level, request.owner_id, department)
    await _check_parent(session, request)
    start, end = data.period()
    objective = await repository.insert_objective(
        session,
        {
            **data.model_dump(include={"title", "description", "parent_id", "year"}),
            "level": data.level.value,
            "quarter": data.quarter.value if data.quarter else None,
            "status": data.status.value,
            "progress_percentage": data.progress_percentage,
            "owner_id": request.owner_id,
            "department": department,
            "start_date": start,
            "end_date": end,
            "created_by": request.actor.user_id,
            "version": 1,
        },
    )
    await outbox.add(
        session, subjects.OBJECTIVE_CREATED, [ObjectiveCreated(objective=state(objective))]
    )
    return response(objective)


async def get_objective(session: AsyncSession, request: GetObjective) -> ObjectiveResponse:
    objective = await repository.get_objective(session, request.objective_id)
    if objective is None or not can_view(request.actor, objective):
        raise ObjectiveNotFound(request.objective_id)  # out of view reads exactly as missing
    return response(objective)


async def _check_parent(session: AsyncSession, request: CreateObjective) -> None:
    level, parent_id = request.data.level, request.data.parent_id
    if level is ObjectiveLevel.COMPANY:
        if parent_id is not None:
            raise InvalidHierarchy("a company objective has no parent; leave parent_id null")
        return
    if parent_id is None:
        return
    parent = await repository.get_objective(session, parent_id)
    if parent is None or not can_view(request.actor, parent):
        raise InvalidHierarchy(f"parent_id {parent_id}: no such objective")
    parent_level = ObjectiveLevel(parent.level)
    if level.rank <= parent_level.rank:
        raise InvalidHierarchy(
            f"a {level.value} objective cannot sit under a {parent_level.value} objective; "
            "a child's level must be below its parent's (company > division > team > individual)"
        )


def state(objective: Objective) -> ObjectiveState:
    return ObjectiveState.model_validate(objective, from_attributes=True)


def response(objective: Objective) -> ObjectiveResponse:
    return ObjectiveResponse.model_validate(objective, from_attributes=True)
