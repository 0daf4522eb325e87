"""Requests the gateway sends to the KPIs service, each with the caller as `Actor`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from okr_shared.contracts.common import Actor, Contract
from okr_shared.contracts.fields import BIGINT_MAX, Department, Id, Moment, Offset
from okr_shared.contracts.kpis import KpiCreate, KpiStatus, KpiUpdate
from okr_shared.contracts.objectives import Quarter


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
    """Which of these KPIs may the caller write values to? Answered with the writable ids."""

    actor: Actor
    kpi_ids: Annotated[list[Id], Field(max_length=5000)]


class RecentRejections(Contract):
    actor: Actor
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class SourceStatsRequest(Contract):
    """Values sent and refused by these senders (admin); a sender never seen is left out."""

    actor: Actor
    sources: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=500)]
