"""`/api/v1/objectives/{id}/kpis`: an objective's weighted links to KPIs. A link is checked
against the KPIs service (an unknown KPI is refused) and written by the objectives service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from okr_gateway.deps import ObjectivesRead, ObjectivesWrite, ReadModelDep, ServicesDep, actor
from okr_gateway.models import User
from okr_shared.contracts import kpi_rpc
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.fields import Id
from okr_shared.contracts.objectives import ObjectiveKPILink, ObjectiveKPILinkCreate
from okr_shared.errors import Invalid, Unavailable
from okr_shared.errors import NotFound as NotFoundError

ObjectiveId = Annotated[Id, Path(description="the objective's id")]

router = APIRouter(prefix="/api/v1/objectives", tags=["objectives"])


@router.post(
    "/{objective_id}/kpis", status_code=201, response_model=ObjectiveKPILink, summary="Link a KPI"
)
async def link_kpi(
    objective_id: ObjectiveId,
    link: ObjectiveKPILinkCreate,
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
) -> ObjectiveKPILink:
    await _check_kpi_exists(rpc_, user, link.kpi_id)
    request = rpc.LinkKpi(actor=actor(user), objective_id=objective_id, link=link)
    return model.written(await rpc_.ask(rpc.LINK_KPI, request))


@router.delete("/{objective_id}/kpis/{kpi_id}", status_code=204, summary="Unlink a KPI")
async def unlink_kpi(
    objective_id: ObjectiveId,
    kpi_id: Annotated[Id, Path(description="the KPI's id")],
    user: ObjectivesWrite,
    rpc_: ServicesDep,
    model: ReadModelDep,
) -> Response:
    request = rpc.UnlinkKpi(actor=actor(user), objective_id=objective_id, kpi_id=kpi_id)
    model.written(await rpc_.ask(rpc.UNLINK_KPI, request))
    return Response(status_code=204)


@router.get(
    "/{objective_id}/kpis", response_model=list[ObjectiveKPILink], summary="Linked KPIs, weighted"
)
async def linked_kpis(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep
) -> list[ObjectiveKPILink]:
    request = rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    return await rpc_.ask(rpc.LINKS, request)


async def _check_kpi_exists(rpc_: ServicesDep, user: User, kpi_id: int) -> None:
    """A link to an unknown KPI is refused: the KPIs service is asked."""
    request = kpi_rpc.KpiRequest(actor=actor(user), kpi_id=kpi_id)
    try:
        await rpc_.ask(kpi_rpc.GET, request)
    except Unavailable as err:
        raise Unavailable(
            f"cannot check that KPI {kpi_id} exists: the kpis service did not answer; "
            "try again shortly"
        ) from err
    except NotFoundError as err:
        raise Invalid(f"kpi_id {kpi_id}: no such KPI") from err
