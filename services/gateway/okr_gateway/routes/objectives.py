"""`/api/v1/objectives`: each route checks the caller, asks the objectives service, and shapes
the answer. The service applies the permission matrix; the gateway adds what it alone knows
(users) and the HTTP conventions (ETag, If-Match, Location).

The hot reads (one objective, its children and ancestors, the tree) are answered by the
gateway's read model once it is warm (okr_gateway.read_model), under the same rules, as JSON
made once per change; writes apply the events they caused to it before they answer."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import TypeAdapter

from okr_gateway import service
from okr_gateway.deps import (
    IdentitiesDep,
    ObjectivesRead,
    ObjectivesWrite,
    ReadModelDep,
    Services,
    ServicesDep,
    SessionDep,
    StateDep,
    actor,
)
from okr_gateway.models import User
from okr_gateway.versions import IfMatch, etag, expected_version, one_version
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts import progress as progress_rpc
from okr_shared.contracts.common import Page, Role
from okr_shared.contracts.fields import Department, Id, Offset
from okr_shared.contracts.objectives import (
    AuditEntry,
    CreatableLevels,
    ObjectiveCreate,
    ObjectiveDetail,
    ObjectiveGanttItem,
    ObjectiveLevel,
    ObjectiveMove,
    ObjectiveResponse,
    ObjectiveStats,
    ObjectiveStatus,
    ObjectiveTreeItem,
    ObjectiveTreeNode,
    ObjectiveUpdate,
    Quarter,
)
from okr_shared.contracts.progress import ProgressCalculation, ProgressRequest
from okr_shared.pace import Health

T = TypeVar("T")
ObjectiveId = Annotated[Id, Path(description="the objective's id")]
Year = Annotated[int | None, Query(ge=2000, le=2100)]

router = APIRouter(prefix="/api/v1/objectives", tags=["objectives"])


_objectives = TypeAdapter(list[ObjectiveResponse])
_tree_items = TypeAdapter(list[ObjectiveTreeItem])


def json_response(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, media_type="application/json", headers=headers)


@router.post("", status_code=201, response_model=ObjectiveResponse, summary="Create an objective")
async def create_objective(
    data: ObjectiveCreate,
    user: ObjectivesWrite,
    db: SessionDep,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
) -> ObjectiveResponse:
    owner = await service.resolve_owner(db, user, data.owner_id)
    request = rpc.CreateObjective(
        actor=actor(user), data=data, owner_id=owner.id, owner_department=owner.department
    )
    created = model.written(await rpc_.ask(rpc.CREATE, request))
    response.headers["ETag"] = etag(created.version)
    response.headers["Location"] = f"/api/v1/objectives/{created.id}"
    return created


@router.get("", response_model=Page[ObjectiveResponse], summary="List objectives you may see")
async def list_objectives(
    user: ObjectivesRead,
    rpc_: ServicesDep,
    owner_id: Annotated[Id | None, Query()] = None,
    level: ObjectiveLevel | None = None,
    year: Year = None,
    quarter: Quarter | None = None,
    status: ObjectiveStatus | None = None,
    department: Annotated[Department | None, Query()] = None,
    parent_id: Annotated[Id | None, Query()] = None,
    health: Annotated[Health | None, Query(description="today's health")] = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[ObjectiveResponse]:
    filters = rpc.ObjectiveFilters(
        health=health,
        owner_id=owner_id,
        level=level,
        year=year,
        quarter=quarter,
        status=status,
        department=department,
        parent_id=parent_id,
    )
    request = rpc.ListObjectives(actor=actor(user), filters=filters, skip=skip, limit=limit)
    return await rpc_.ask(rpc.LIST, request)


@router.get(
    "/tree/view",
    response_model=list[ObjectiveTreeNode],
    summary="Whole trees (or the one under root_id), nested",
)
async def tree_view(
    user: ObjectivesRead,
    rpc_: ServicesDep,
    model: ReadModelDep,
    root_id: Annotated[Id | None, Query()] = None,
    year: Year = None,
    quarter: Quarter | None = None,
    status: ObjectiveStatus | None = None,
) -> Response:
    if (answers := model.answers) is not None:
        return json_response(answers.tree(actor(user), root_id, year, quarter, status))
    request = rpc.TreeView(
        actor=actor(user), root_id=root_id, year=year, quarter=quarter, status=status
    )
    return json_response(await rpc_.ask_json(rpc.TREE, request))


@router.get(
    "/tree/level",
    response_model=list[ObjectiveTreeItem],
    summary="One level of the tree: its roots, or parent_id's children, with their child counts",
)
async def tree_level(
    user: ObjectivesRead,
    rpc_: ServicesDep,
    model: ReadModelDep,
    parent_id: Annotated[Id | None, Query()] = None,
) -> Response:
    if (answers := model.answers) is not None:
        return json_response(answers.tree_level(actor(user), parent_id))
    request = rpc.TreeLevel(actor=actor(user), parent_id=parent_id)
    return json_response(_tree_items.dump_json(await rpc_.ask(rpc.TREE_LEVEL, request)))


@router.get("/stats/summary", response_model=ObjectiveStats, summary="Counts and average progress")
async def stats_summary(
    user: ObjectivesRead,
    rpc_: ServicesDep,
    owner_id: Annotated[Id | None, Query()] = None,
    year: Year = None,
) -> ObjectiveStats:
    request = rpc.StatsSummary(actor=actor(user), owner_id=owner_id, year=year)
    return await rpc_.ask(rpc.STATS, request)


@router.get(
    "/gantt/view", response_model=list[ObjectiveGanttItem], summary="Objectives on a timeline"
)
async def gantt_view(
    user: ObjectivesRead,
    rpc_: ServicesDep,
    owner_id: Annotated[Id | None, Query()] = None,
    level: ObjectiveLevel | None = None,
    year: Year = None,
    quarter: Quarter | None = None,
    status: ObjectiveStatus | None = None,
    department: Annotated[Department | None, Query()] = None,
) -> Response:
    filters = rpc.ObjectiveFilters(
        owner_id=owner_id,
        level=level,
        year=year,
        quarter=quarter,
        status=status,
        department=department,
    )
    request = rpc.GanttView(actor=actor(user), filters=filters)
    return json_response(await rpc_.ask_json(rpc.GANTT, request))


@router.get(
    "/creatable/levels",
    response_model=CreatableLevels,
    summary="The levels you may create objectives at (for yourself, in your department)",
)
async def creatable_levels(user: ObjectivesRead, rpc_: ServicesDep) -> CreatableLevels:
    request = rpc.CreatableLevelsRequest(actor=actor(user))
    return await rpc_.ask(rpc.CREATABLE_LEVELS, request)


@router.get("/{objective_id}", response_model=ObjectiveDetail, summary="One objective, with counts")
async def get_objective(
    objective_id: ObjectiveId, user: ObjectivesRead, gateway: StateDep
) -> Response:
    # The gateway's state as the one dependency besides the caller: each resolved dependency
    # costs CPU on the busiest route there is.
    users = gateway.identities
    if (answers := gateway.read_model.answers) is not None:
        caller = actor(user)
        # One record throughout: a write applied while the owner is looked up changes nothing.
        record = answers.visible(caller, objective_id)
        owner_name = service.display_name(await users.user(record.owner_id))
        body, version = answers.detail(caller, record, owner_name)
    else:
        found = await _detail(gateway.services, user, objective_id)
        owner = await users.user(found.owner_id)
        found = found.model_copy(update={"owner_name": service.display_name(owner)})
        body, version = found.model_dump_json().encode(), found.version
    return json_response(body, {"ETag": etag(version)})


async def _detail(rpc_: Services, user: User, objective_id: int) -> ObjectiveDetail:
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    return await rpc_.ask(rpc.GET, request)


@router.put("/{objective_id}", response_model=ObjectiveResponse, summary="Change an objective")
async def update_objective(
    objective_id: ObjectiveId,
    changes: ObjectiveUpdate,
    user: ObjectivesWrite,
    db: SessionDep,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
    if_match: IfMatch = None,
) -> ObjectiveResponse:
    if changes.owner_id is not None:
        await service.resolve_owner(db, user, changes.owner_id)
    request = rpc.UpdateObjective(
        actor=actor(user),
        objective_id=objective_id,
        changes=changes,
        expected_version=expected_version(if_match),
    )
    updated = model.written(await rpc_.ask(rpc.UPDATE, request))
    response.headers["ETag"] = etag(updated.version)
    return updated


@router.delete("/{objective_id}", status_code=204, summary="Delete an objective and its subtree")
async def delete_objective(
    objective_id: ObjectiveId,
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
    if_match: IfMatch = None,
) -> Response:
    request = rpc.DeleteObjective(
        actor=actor(user), objective_id=objective_id, expected_version=expected_version(if_match)
    )
    model.written(await rpc_.ask(rpc.DELETE, request))
    return Response(status_code=204)


@router.post(
    "/{objective_id}/restore",
    response_model=ObjectiveResponse,
    summary="Bring back a deleted objective with its subtree (admin)",
)
async def restore_objective(
    objective_id: ObjectiveId,
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
) -> ObjectiveResponse:
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    restored = model.written(await rpc_.ask(rpc.RESTORE, request))
    response.headers["ETag"] = etag(restored.version)
    return restored


@router.get("/{objective_id}/children", response_model=list[ObjectiveResponse], summary="Children")
async def children(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep, model: ReadModelDep
) -> Response:
    if (answers := model.answers) is not None:
        return json_response(answers.children(actor(user), objective_id))
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    return json_response(_objectives.dump_json(await rpc_.ask(rpc.CHILDREN, request)))


@router.get(
    "/{objective_id}/ancestors",
    response_model=list[ObjectiveResponse],
    summary="Ancestors, nearest parent first",
)
async def ancestors(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep, model: ReadModelDep
) -> Response:
    if (answers := model.answers) is not None:
        return json_response(answers.ancestors(actor(user), objective_id))
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    return json_response(_objectives.dump_json(await rpc_.ask(rpc.ANCESTORS, request)))


@router.post(
    "/{objective_id}/move", response_model=ObjectiveResponse, summary="Give a new parent (admin)"
)
async def move_objective(
    objective_id: ObjectiveId,
    move: ObjectiveMove,
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
    if_match: IfMatch = None,
) -> ObjectiveResponse:
    request = rpc.MoveObjective(
        actor=actor(user),
        objective_id=objective_id,
        new_parent_id=move.new_parent_id,
        expected_version=one_version(if_match, move.version),
    )
    moved = model.written(await rpc_.ask(rpc.MOVE, request))
    response.headers["ETag"] = etag(moved.version)
    return moved


@router.get(
    "/{objective_id}/history", response_model=list[AuditEntry], summary="Audit trail, newest first"
)
async def history(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep
) -> list[AuditEntry]:
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    return await rpc_.ask(rpc.HISTORY, request)


@router.get(
    "/{objective_id}/progress",
    response_model=ProgressCalculation,
    summary="Its progress, calculated now by the progress service (nothing stored)",
)
async def progress(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep
) -> ProgressCalculation:
    """The progress counts every child (it is one number for everyone who may see the
    objective); `child_count` counts only those the caller may see, as the detail does."""
    # 404 unless the caller may see it.
    asked = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    visible_children = await rpc_.ask(rpc.CHILDREN, asked)
    request = ProgressRequest(actor=actor(user), objective_id=objective_id)
    found = await rpc_.ask(progress_rpc.CALCULATE, request)
    if user.role == Role.ADMIN.value:
        return found
    # The rollup's rule for a counted child: live (these are) and not abandoned.
    counted = sum(1 for c in visible_children if c.status is not ObjectiveStatus.ABANDONED)
    return found.model_copy(update={"child_count": min(counted, found.child_count)})


@router.post(
    "/{objective_id}/recalculate",
    response_model=ObjectiveDetail,
    summary="Recalculate from source, store, cascade to the ancestors, publish",
)
async def recalculate(
    objective_id: ObjectiveId, user: ObjectivesWrite, users: IdentitiesDep, rpc_: ServicesDep
) -> ObjectiveDetail:
    detail = await _detail(rpc_, user, objective_id)
    owner = await users.user(detail.owner_id)
    detail = detail.model_copy(update={"owner_name": service.display_name(owner)})
    request = ProgressRequest(actor=actor(user), objective_id=objective_id)
    calculation = await rpc_.ask(progress_rpc.RECALCULATE, request)
    return detail.model_copy(update={"progress_percentage": calculation.progress_percentage})
