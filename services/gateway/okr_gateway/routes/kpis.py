"""`/api/v1/kpis` and `/api/v1/ingest`: KPI definitions through the KPIs service, and values,
which the gateway publishes to JetStream exactly as an HR system would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, Security
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from okr_gateway import service
from okr_gateway.deps import (
    KpisRead,
    KpisWrite,
    ServicesDep,
    SessionDep,
    StateDep,
    ValuePrefix,
    ValuesWrite,
    actor,
    scoped,
    scoped_admin,
)
from okr_gateway.models import User
from okr_gateway.scopes import Scope
from okr_gateway.value_ids import value_message_id
from okr_gateway.versions import IfMatch, etag, expected_version
from okr_shared import channels
from okr_shared.asyncapi import Documented
from okr_shared.contracts import kpi_rpc as rpc
from okr_shared.contracts import objective_rpc
from okr_shared.contracts.common import Page
from okr_shared.contracts.fields import Department, Id, Moment, Offset, too_far_ahead
from okr_shared.contracts.kpis import (
    BatchItemResult,
    IdempotencyKey,
    KpiBatchIn,
    KpiBatchItem,
    KpiCreate,
    KpiDetail,
    KpiResponse,
    KpiStatus,
    KpiUpdate,
    KpiValue,
    KpiValueIn,
    Rejection,
    ValueAccepted,
)
from okr_shared.contracts.objective_rpc import ObjectivesByKpi
from okr_shared.contracts.objectives import ObjectiveResponse, Quarter
from okr_shared.errors import Conflict, Forbidden, Invalid, NotFound, OkrError
from okr_shared.rpc import validation_details

KpiId = Annotated[Id, Path(description="the KPI's id")]
router = APIRouter(tags=["kpis"])

# For the AsyncAPI document: what the value routes below publish.
PUBLISHES = tuple(
    Documented(
        channel,
        receives=False,
        how="directly to JetStream, answering only once the stream has stored it",
    )
    for channel in (
        channels.KPI_VALUE_USER,
        channels.KPI_VALUE_USER_BATCH,
        channels.KPI_VALUE_INTEGRATION,
        channels.KPI_VALUE_INTEGRATION_BATCH,
    )
)
BATCH_LIMIT = 1000
BATCH_PATH = "/api/v1/kpis/values/batch"  # takes larger bodies (OKR_GATEWAY_MAX_BATCH_BODY_BYTES)
KpisAndObjectivesRead = Annotated[
    User, Security(scoped, scopes=[Scope.KPIS_READ, Scope.OBJECTIVES_READ])
]
AdminKpisRead = Annotated[User, Security(scoped_admin, scopes=[Scope.KPIS_READ])]


@router.post("/api/v1/kpis", status_code=201, response_model=KpiResponse, summary="Create a KPI")
async def create_kpi(
    data: KpiCreate, user: KpisWrite, db: SessionDep, rpc_: ServicesDep, response: Response
) -> KpiResponse:
    owner = await service.resolve_owner(db, user, data.owner_id)
    request = rpc.CreateKpi(
        actor=actor(user), data=data, owner_id=owner.id, owner_department=owner.department
    )
    created = await rpc_.ask(rpc.CREATE, request)
    response.headers["ETag"] = etag(created.version)
    response.headers["Location"] = f"/api/v1/kpis/{created.id}"
    return created


@router.get("/api/v1/kpis", response_model=Page[KpiResponse], summary="List KPIs you may see")
async def list_kpis(
    user: KpisRead,
    rpc_: ServicesDep,
    owner_id: Annotated[Id | None, Query()] = None,
    department: Annotated[Department | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    quarter: Quarter | None = None,
    status: KpiStatus | None = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[KpiResponse]:
    filters = rpc.KpiFilters(
        owner_id=owner_id, department=department, year=year, quarter=quarter, status=status
    )
    request = rpc.ListKpis(actor=actor(user), filters=filters, skip=skip, limit=limit)
    return await rpc_.ask(rpc.LIST, request)


class BatchRequest(BaseModel):
    """Up to 1,000 values; each item is checked on its own and gets its own result."""

    model_config = ConfigDict(extra="forbid")

    values: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=BATCH_LIMIT)]


class BatchResponse(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


async def batch_body(request: Request, _: ValuesWrite) -> BatchRequest:
    """The batch, read only once its sender is known: this route takes bodies of up to
    OKR_GATEWAY_MAX_BATCH_BODY_BYTES, and FastAPI parses a declared body before it checks who
    sent it (8 MB of `[[],[],...]` is ~180 MB parsed), so no one unknown gets it parsed."""
    try:
        return BatchRequest.model_validate_json(await request.body())
    except ValidationError as err:
        raise Invalid(
            'send {"values": [...]} with 1 to 1,000 values', details=validation_details(err)
        ) from None


BatchBody = Annotated[BatchRequest, Depends(batch_body)]


@router.post(
    BATCH_PATH,
    status_code=202,
    response_model=BatchResponse,
    summary="Record up to 1,000 KPI values at once",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BatchRequest.model_json_schema()}},
        }
    },
)
async def record_values(
    batch: BatchBody,
    user: ValuesWrite,
    prefix: ValuePrefix,
    rpc_: ServicesDep,
    gateway: StateDep,
) -> BatchResponse:
    results: dict[int, BatchItemResult] = {}
    items: list[tuple[int, KpiBatchItem]] = []
    ahead = _future_check(gateway.settings.values_max_clock_skew_s)
    for index, raw in enumerate(batch.values):
        try:
            item = KpiBatchItem.model_validate(raw)
        except ValidationError as err:
            results[index] = _rejected(index, raw.get("kpi_id"), _summary(err))
            continue
        if problem := ahead(item):
            results[index] = _rejected(index, item.kpi_id, problem)
            continue
        items.append((index, item))
    refused = await _refused(rpc_, user, [item.kpi_id for _, item in items])
    keyed: list[KpiBatchItem] = []
    for index, item in items:
        if item.kpi_id in refused:
            results[index] = _rejected(index, item.kpi_id, refused[item.kpi_id].message)
            continue
        key = item.idempotency_key or str(uuid4())
        keyed.append(item.model_copy(update={"idempotency_key": key}))
        results[index] = BatchItemResult(
            index=index, kpi_id=item.kpi_id, status="accepted", event_id=key
        )
    if keyed:
        body = KpiBatchIn(values=keyed).model_dump_json(exclude_none=True).encode()
        await rpc_.publish(f"{prefix}.batch", body, str(uuid4()))
    ordered = [results[i] for i in sorted(results)]
    accepted = sum(1 for r in ordered if r.status == "accepted")
    return BatchResponse(accepted=accepted, rejected=len(ordered) - accepted, results=ordered)


def _future_check(max_skew_s: float) -> Callable[[KpiValueIn], str | None]:
    """Refuses, as the KPIs service would once it had taken the value, one observed too far
    ahead: at once, with a reason, rather than a 202 and a dead letter."""
    now, skew = datetime.now(UTC), timedelta(seconds=max_skew_s)

    def check(value: KpiValueIn) -> str | None:
        if value.observed_at is None:
            return None
        return too_far_ahead(value.observed_at, now, skew)

    return check


def _rejected(index: int, kpi_id: object, reason: str) -> BatchItemResult:
    known = kpi_id if isinstance(kpi_id, int) and kpi_id > 0 else 0
    return BatchItemResult(index=index, kpi_id=known, status="rejected", reason=reason)


def _summary(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, d['loc'])) or 'item'}: {d['msg']}" for d in validation_details(err)
    )


@router.get(
    "/api/v1/kpis/{kpi_id}", response_model=KpiDetail, summary="One KPI, and what you may do"
)
async def get_kpi(
    kpi_id: KpiId, user: KpisRead, rpc_: ServicesDep, response: Response
) -> KpiDetail:
    found = await rpc_.ask(rpc.GET, rpc.KpiRequest(actor=actor(user), kpi_id=kpi_id))
    response.headers["ETag"] = etag(found.version)
    return found


@router.put("/api/v1/kpis/{kpi_id}", response_model=KpiResponse, summary="Change a KPI")
async def update_kpi(
    kpi_id: KpiId,
    changes: KpiUpdate,
    user: KpisWrite,
    db: SessionDep,
    rpc_: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> KpiResponse:
    if changes.owner_id is not None:
        await service.resolve_owner(db, user, changes.owner_id)
    request = rpc.UpdateKpi(
        actor=actor(user),
        kpi_id=kpi_id,
        changes=changes,
        expected_version=expected_version(if_match),
    )
    updated = await rpc_.ask(rpc.UPDATE, request)
    response.headers["ETag"] = etag(updated.version)
    return updated


@router.delete("/api/v1/kpis/{kpi_id}", status_code=204, summary="Archive a KPI")
async def archive_kpi(
    kpi_id: KpiId, user: KpisWrite, rpc_: ServicesDep, if_match: IfMatch = None
) -> Response:
    request = rpc.ArchiveKpi(
        actor=actor(user), kpi_id=kpi_id, expected_version=expected_version(if_match)
    )
    await rpc_.ask(rpc.ARCHIVE, request)
    return Response(status_code=204)


@router.post(
    "/api/v1/kpis/{kpi_id}/values",
    status_code=202,
    response_model=ValueAccepted,
    summary="Record one KPI value (published to JetStream like an HR system's)",
)
async def record_value(
    kpi_id: KpiId,
    value: KpiValueIn,
    user: ValuesWrite,
    prefix: ValuePrefix,
    rpc_: ServicesDep,
    gateway: StateDep,
    idempotency_key: Annotated[
        IdempotencyKey | None, Header(description="repeat it to make a retry harmless")
    ] = None,
) -> ValueAccepted:
    if problem := _future_check(gateway.settings.values_max_clock_skew_s)(value):
        raise Invalid(problem)
    refused = await _refused(rpc_, user, [kpi_id])
    if kpi_id in refused:
        raise refused[kpi_id]
    key = idempotency_key or str(uuid4())
    duplicate = await rpc_.publish(
        f"{prefix}.{kpi_id}",
        value.model_dump_json(exclude_none=True).encode(),
        value_message_id(gateway.tokens.secret, prefix, kpi_id, key),
        value_key=key,
    )
    return ValueAccepted(event_id=key, status="duplicate" if duplicate else "accepted")


@router.get("/api/v1/kpis/{kpi_id}/values", response_model=list[KpiValue], summary="Value history")
async def value_history(
    kpi_id: KpiId,
    user: KpisRead,
    rpc_: ServicesDep,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[KpiValue]:
    request = rpc.ValueHistory(
        actor=actor(user), kpi_id=kpi_id, since=since, until=until, limit=limit
    )
    return await rpc_.ask(rpc.VALUES, request)


@router.get(
    "/api/v1/kpis/{kpi_id}/objectives",
    response_model=list[ObjectiveResponse],
    summary="Objectives you may see that link this KPI",
)
async def linking_objectives(
    kpi_id: KpiId, user: KpisAndObjectivesRead, rpc_: ServicesDep
) -> list[ObjectiveResponse]:
    await rpc_.ask(rpc.GET, rpc.KpiRequest(actor=actor(user), kpi_id=kpi_id))
    request = ObjectivesByKpi(actor=actor(user), kpi_id=kpi_id)
    return await rpc_.ask(objective_rpc.BY_KPI, request)


@router.get(
    "/api/v1/ingest/rejections",
    response_model=list[Rejection],
    summary="Recently refused values, with their reasons (admin)",
)
async def rejections(
    user: AdminKpisRead, rpc_: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Rejection]:
    request = rpc.RecentRejections(actor=actor(user), limit=limit)
    return await rpc_.ask(rpc.REJECTIONS, request)


async def _refused(rpc_: ServicesDep, user: User, kpi_ids: list[int]) -> dict[int, OkrError]:
    """Of these KPIs, each the caller may not record values of, with the error that says why."""
    if not kpi_ids:
        return {}
    request = rpc.WritableKpis(actor=actor(user), kpi_ids=sorted(set(kpi_ids)))
    answer = await rpc_.ask(rpc.WRITABLE, request)
    return {kpi_id: _refusal(kpi_id, why) for kpi_id, why in answer.refused.items()}


def _refusal(kpi_id: int, why: rpc.WriteRefusal) -> OkrError:
    match why:
        case rpc.WriteRefusal.MISSING:
            return NotFound(f"KPI {kpi_id} not found")
        case rpc.WriteRefusal.ARCHIVED:
            return Conflict(f"KPI {kpi_id} is archived and takes no more values")
        case rpc.WriteRefusal.FORBIDDEN:
            return Forbidden(f"you may not record values of KPI {kpi_id}")
