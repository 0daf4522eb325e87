from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from okr_gateway import service
from okr_gateway.deps import CurrentUser, ServicesDep, SessionDep, actor
from okr_shared import subjects
from okr_shared.contracts.fields import Id
from okr_shared.contracts.objectives import (
    CreateObjective,
    GetObjective,
    ObjectiveCreate,
    ObjectiveResponse,
)

ObjectiveId = Annotated[Id, Path(description="the objective's id")]

router = APIRouter(prefix="/api/v1/objectives", tags=["objectives"])


def etag(version: int) -> str:
    return f'"{version}"'


@router.post("", status_code=201, response_model=ObjectiveResponse, summary="Create an objective")
async def create_objective(
    data: ObjectiveCreate, user: CurrentUser, db: SessionDep, rpc: ServicesDep, response: Response
) -> ObjectiveResponse:
    owner = await service.resolve_owner(db, user, data.owner_id)
    request = CreateObjective(
        actor=actor(user), data=data, owner_id=owner.id, owner_department=owner.department
    )
    created: ObjectiveResponse = await rpc.call(
        subjects.RPC_OBJECTIVES_CREATE, request, ObjectiveResponse
    )
    response.headers["ETag"] = etag(created.version)
    response.headers["Location"] = f"/api/v1/objectives/{created.id}"
    return created


@router.get("/{objective_id}", response_model=ObjectiveResponse, summary="One objective")
async def get_objective(
    objective_id: ObjectiveId, user: CurrentUser, rpc: ServicesDep, response: Response
) -> ObjectiveResponse:
    request = GetObjective(actor=actor(user), objective_id=objective_id)
    found: ObjectiveResponse = await rpc.call(
        subjects.RPC_OBJECTIVES_GET, request, ObjectiveResponse
    )
    response.headers["ETag"] = etag(found.version)
    return found
