"""`/api/v1/periods`: years and quarters, their state and average grade by level. An admin
closes one (grading and freezing its objectives) and may reopen it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from okr_gateway.deps import (
    ObjectivesRead,
    ObjectivesWrite,
    ReadModelDep,
    Services,
    ServicesDep,
    actor,
)
from okr_gateway.models import User
from okr_gateway.read_model.feed import ReadModel
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.objectives import Quarter
from okr_shared.contracts.periods import Period

Year = Annotated[int, Path(ge=2000, le=2100, description="the period's year")]
QuarterPath = Annotated[Quarter, Path(description="Q1 to Q4")]

router = APIRouter(prefix="/api/v1/periods", tags=["periods"])


@router.get("", response_model=list[Period], summary="Periods, their state and average grades")
async def list_periods(user: ObjectivesRead, rpc_: ServicesDep) -> list[Period]:
    return await rpc_.ask(rpc.PERIODS, rpc.ListPeriods(actor=actor(user)))


@router.post("/{year}/close", response_model=Period, summary="Close a year: grade and freeze it")
async def close_year(
    year: Year, user: ObjectivesWrite, rpc_: ServicesDep, model: ReadModelDep
) -> Period:
    return await _change(rpc.CLOSE_PERIOD, year, None, user, rpc_, model)


@router.post("/{year}/reopen", response_model=Period, summary="Reopen a closed year")
async def reopen_year(
    year: Year, user: ObjectivesWrite, rpc_: ServicesDep, model: ReadModelDep
) -> Period:
    return await _change(rpc.REOPEN_PERIOD, year, None, user, rpc_, model)


@router.post(
    "/{year}/{quarter}/close", response_model=Period, summary="Close a quarter: grade and freeze it"
)
async def close_quarter(
    year: Year, quarter: QuarterPath, user: ObjectivesWrite, rpc_: ServicesDep, model: ReadModelDep
) -> Period:
    return await _change(rpc.CLOSE_PERIOD, year, quarter, user, rpc_, model)


@router.post("/{year}/{quarter}/reopen", response_model=Period, summary="Reopen a closed quarter")
async def reopen_quarter(
    year: Year, quarter: QuarterPath, user: ObjectivesWrite, rpc_: ServicesDep, model: ReadModelDep
) -> Period:
    return await _change(rpc.REOPEN_PERIOD, year, quarter, user, rpc_, model)


async def _change(
    endpoint: RpcEndpoint[rpc.PeriodRequest, rpc.ObjectiveWrite[Period]],
    year: int,
    quarter: Quarter | None,
    user: User,
    rpc_: Services,
    model: ReadModel,
) -> Period:
    """A close or a reopen: a period of 100,000 objectives takes seconds (the long timeout);
    the read model takes its events before the answer, as after any write."""
    request = rpc.PeriodRequest(actor=actor(user), year=year, quarter=quarter)
    return model.written(await rpc_.ask_long(endpoint, request))
