"""Requests the gateway sends to the objectives service. Each carries the `Actor`: the service
applies the permission matrix to its own data."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from okr_shared.contracts.common import Actor, Contract
from okr_shared.contracts.fields import BIGINT_MAX, Department, Id, Offset
from okr_shared.contracts.objectives import (
    ObjectiveCreate,
    ObjectiveKPILinkCreate,
    ObjectiveLevel,
    ObjectiveStatus,
    ObjectiveUpdate,
    Quarter,
)

Limit = Annotated[int, Field(ge=1, le=500)]
Version = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


class CreateObjective(Contract):
    """The gateway resolved the owner (default: the caller) and the owner's department."""

    actor: Actor
    data: ObjectiveCreate
    owner_id: Id
    owner_department: str | None


class ObjectiveRequest(Contract):
    """Any request about one objective."""

    actor: Actor
    objective_id: Id


class UpdateObjective(ObjectiveRequest):
    changes: ObjectiveUpdate
    expected_version: Version | None = None


class DeleteObjective(ObjectiveRequest):
    expected_version: Version | None = None


class MoveObjective(ObjectiveRequest):
    new_parent_id: Id | None
    expected_version: Version | None = None


class LinkKpi(ObjectiveRequest):
    link: ObjectiveKPILinkCreate


class UnlinkKpi(ObjectiveRequest):
    kpi_id: Id


class ObjectiveFilters(Contract):
    owner_id: Id | None = None
    level: ObjectiveLevel | None = None
    year: int | None = None
    quarter: Quarter | None = None
    status: ObjectiveStatus | None = None
    department: Department | None = None
    parent_id: Id | None = None


class ListObjectives(Contract):
    actor: Actor
    filters: ObjectiveFilters = ObjectiveFilters()
    skip: Offset = 0
    limit: Limit = 100


class TreeView(Contract):
    actor: Actor
    root_id: Id | None = None
    year: int | None = None
    quarter: Quarter | None = None
    status: ObjectiveStatus | None = None


class GanttView(Contract):
    actor: Actor
    filters: ObjectiveFilters = ObjectiveFilters()


class StatsSummary(Contract):
    actor: Actor
    owner_id: Id | None = None
    year: int | None = None


class ObjectivesByKpi(Contract):
    actor: Actor
    kpi_id: Id


class CreatableLevelsRequest(Contract):
    actor: Actor


class VisibleOwners(Contract):
    """Which of `user_ids` own a live objective the caller may see (the gateway names only
    those)."""

    actor: Actor
    user_ids: Annotated[list[Id], Field(max_length=500)]


class VisibleIds(Contract):
    """The ids of the live objectives the caller may see: every one, those under `root_id`
    (itself included; 404 if the caller may not see it), or those among `objective_ids`."""

    actor: Actor
    root_id: Id | None = None
    objective_ids: Annotated[list[Id], Field(max_length=500)] | None = None
