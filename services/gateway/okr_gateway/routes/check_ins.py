"""`/api/v1/objectives/{id}/check-ins`: how an objective goes, said weekly by the people who
run it. Who may update the objective may check in; who may see it may read them. The
objectives service stamps the author, the time and the progress at that moment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from okr_gateway.deps import ObjectivesRead, ObjectivesWrite, ReadModelDep, ServicesDep, actor
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.common import Page
from okr_shared.contracts.fields import Id, Offset
from okr_shared.contracts.objectives import CheckIn, CheckInCreate

ObjectiveId = Annotated[Id, Path(description="the objective's id")]

router = APIRouter(prefix="/api/v1/objectives", tags=["check-ins"])


@router.post(
    "/{objective_id}/check-ins",
    status_code=201,
    response_model=CheckIn,
    summary="Check in: say how the objective goes",
)
async def check_in(
    objective_id: ObjectiveId,
    data: CheckInCreate,
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
) -> CheckIn:
    request = rpc.CheckInObjective(actor=actor(user), objective_id=objective_id, check_in=data)
    made = model.written(await rpc_.ask(rpc.CHECK_IN, request))
    response.headers["Location"] = f"/api/v1/objectives/{objective_id}/check-ins"
    return made


@router.get(
    "/{objective_id}/check-ins",
    response_model=Page[CheckIn],
    summary="An objective's check-ins, newest first",
)
async def check_ins(
    objective_id: ObjectiveId,
    user: ObjectivesRead,
    rpc_: ServicesDep,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> Page[CheckIn]:
    request = rpc.ListCheckIns(actor=actor(user), objective_id=objective_id, skip=skip, limit=limit)
    return await rpc_.ask(rpc.CHECK_INS, request)
