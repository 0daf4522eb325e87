"""The KPIs service's request/reply endpoints: each request carries the caller as `Actor`; the
declarations at the end name each endpoint's subject, request and result once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from okr_shared import subjects as s
from okr_shared.contracts.common import Actor, Contract, Page
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.fields import BIGINT_MAX, Department, Id, Moment, Offset
from okr_shared.contracts.kpis import (
    KpiCreate,
    KpiDetail,
    KpiResponse,
    KpiStatus,
    KpiUpdate,
    KpiValue,
    Rejection,
    SourceStats,
)
from okr_shared.contracts.objectives import Quarter
from okr_shared.errors import Conflict, Forbidden, Invalid, NotFound


class CreateKpi(Contract):
    actor: Actor
    data: KpiCreate
    owner_id: Id
    owner_department: str | None


class KpiRequest(Contract):
    actor: Actor
    kpi_id: Id


class UpdateKpi(KpiRequest):
    changes: KpiUpdate
    expected_version: Annotated[int, Field(ge=1, le=BIGINT_MAX)] | None = None


class ArchiveKpi(KpiRequest):
    expected_version: Annotated[int, Field(ge=1, le=BIGINT_MAX)] | None = None


class KpiFilters(Contract):
    owner_id: Id | None = None
    department: Department | None = None
    year: int | None = None
    quarter: Quarter | None = None
    status: KpiStatus | None = None


class ListKpis(Contract):
    actor: Actor
    filters: KpiFilters = KpiFilters()
    skip: Offset = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class ValueHistory(KpiRequest):
    since: Moment | None = None
    until: Moment | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 100


class WritableKpis(Contract):
    """Which of these KPIs may the caller write values to? Answered with why not, for each
    that it may not (`Writability`)."""

    actor: Actor
    kpi_ids: Annotated[list[Id], Field(max_length=5000)]


class WriteRefusal(StrEnum):
    MISSING = "missing"  # no such KPI, or not one the caller may see
    ARCHIVED = "archived"  # it takes no more values
    FORBIDDEN = "forbidden"  # the caller sees it and may not write its values


class Writability(Contract):
    """Of the KPIs asked about, each the caller may not write values to, and why; the rest it
    may."""

    refused: dict[Id, WriteRefusal] = {}


class RecentRejections(Contract):
    actor: Actor
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class SourceStatsRequest(Contract):
    """Values sent and refused by these senders (admin); a sender never seen is left out."""

    actor: Actor
    sources: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=500)]


CREATE = RpcEndpoint(s.RPC_KPIS_CREATE, CreateKpi, KpiResponse, (Forbidden, Invalid))
GET = RpcEndpoint(s.RPC_KPIS_GET, KpiRequest, KpiDetail, (NotFound,))
LIST = RpcEndpoint(s.RPC_KPIS_LIST, ListKpis, Page[KpiResponse], chunked=True)  # as objectives
UPDATE = RpcEndpoint(
    s.RPC_KPIS_UPDATE, UpdateKpi, KpiResponse, (NotFound, Forbidden, Invalid, Conflict)
)
ARCHIVE = RpcEndpoint(s.RPC_KPIS_ARCHIVE, ArchiveKpi, type(None), (NotFound, Forbidden, Conflict))
# Up to 10,000 values, or 1,000 refused ones: more than a NATS message may hold, so in chunks.
VALUES = RpcEndpoint(s.RPC_KPIS_VALUES, ValueHistory, list[KpiValue], (NotFound,), chunked=True)
WRITABLE = RpcEndpoint(s.RPC_KPIS_WRITABLE, WritableKpis, Writability)
REJECTIONS = RpcEndpoint(
    s.RPC_KPIS_REJECTIONS, RecentRejections, list[Rejection], (Forbidden,), chunked=True
)
SOURCES = RpcEndpoint(s.RPC_KPIS_SOURCES, SourceStatsRequest, list[SourceStats], (Forbidden,))
