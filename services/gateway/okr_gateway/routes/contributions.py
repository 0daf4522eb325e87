"""`GET /api/v1/objectives/{id}/contributions`: what moves an objective. The progress service
weighs every KPI (and manual objective) below it; the gateway checks that the caller may see
the objective and hides the ids of what they may not see below it.

The weights and progress of hidden sources stay: the objective's progress, which the caller
sees, is made of them, and without them the contributions would not add up to it. Their ids
go: an objective out of view is null in `path` and `objective_id`, and a KPI's id is shown
only when the caller sees the objective that links it (by its heaviest link), as
`GET /api/v1/objectives/{id}/kpis` shows that objective's links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Response

from okr_gateway.deps import ObjectivesRead, ReadModelDep, ServicesDep, actor
from okr_gateway.read_model.feed import ReadModel
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts import progress as progress_rpc
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.fields import Id
from okr_shared.contracts.progress import Contribution, Contributions, ProgressRequest

ObjectiveId = Annotated[Id, Path(description="the objective's id")]
Sees = Callable[[int], bool]

router = APIRouter(prefix="/api/v1/objectives", tags=["objectives"])


@router.get(
    "/{objective_id}/contributions",
    response_model=Contributions,
    summary="What moves it: every KPI below it with its effective weight, largest first",
)
async def contributions(
    objective_id: ObjectiveId, user: ObjectivesRead, rpc_: ServicesDep, model: ReadModelDep
) -> Response:
    caller = actor(user)
    sees = await _view_below(rpc_, model, caller, objective_id)  # 404 unless it is in view
    request = ProgressRequest(actor=caller, objective_id=objective_id)
    # A company's answer holds an item per individual objective (100,000 and more): asked with
    # the large answers' timeout, and passed through unparsed when nothing is to be hidden.
    body = await rpc_.ask_json(progress_rpc.CONTRIBUTIONS, request)
    if caller.role is Role.ADMIN:
        return Response(content=body, media_type="application/json")
    found = Contributions.model_validate_json(body)
    hidden = found.model_copy(update={"items": [_hidden(item, sees) for item in found.items]})
    return Response(content=hidden.model_dump_json(), media_type="application/json")


async def _view_below(rpc_: ServicesDep, model: ReadModel, caller: Actor, root_id: int) -> Sees:
    """Which objectives under `root_id` the caller may see: from the read model while it is
    warm, else the objectives service's answer (both 404 when the root is not in view)."""
    if (answers := model.answers) is not None:
        answers.visible(caller, root_id)
        return lambda objective_id: answers.sees(caller, objective_id)
    ids = await rpc_.ask(rpc.VISIBLE_IDS, rpc.VisibleIds(actor=caller, root_id=root_id))
    visible = set(ids)
    return lambda objective_id: objective_id in visible


def _hidden(item: Contribution, sees: Sees) -> Contribution:
    linker_seen = item.objective_id is not None and sees(item.objective_id)
    return item.model_copy(
        update={
            "kpi_id": item.kpi_id if linker_seen else None,
            "objective_id": item.objective_id if linker_seen else None,
            "path": [i if i is not None and sees(i) else None for i in item.path],
        }
    )
