"""The objectives service's request/reply endpoints. Each request carries the `Actor`: the
service applies the permission matrix to its own data. The declarations at the end name each
endpoint's subject, request and result once (the tree and Gantt views answer JSON in chunks,
`RpcEndpoint.chunked`)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import Field

from okr_shared import subjects as s
from okr_shared.contracts.common import Actor, Contract, Page
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.fields import BIGINT_MAX, Department, Id, Offset
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.objective_import import ImportObjectives, ImportReport
from okr_shared.contracts.objectives import (
    AuditEntry,
    CheckIn,
    CheckInCreate,
    CreatableLevels,
    ObjectiveCreate,
    ObjectiveDetail,
    ObjectiveGanttItem,
    ObjectiveKPILink,
    ObjectiveKPILinkCreate,
    ObjectiveLevel,
    ObjectiveReportRow,
    ObjectiveResponse,
    ObjectiveStats,
    ObjectiveStatus,
    ObjectiveTreeItem,
    ObjectiveTreeNode,
    ObjectiveUpdate,
    Quarter,
)
from okr_shared.contracts.periods import Period
from okr_shared.errors import Conflict, Forbidden, Invalid, NotFound
from okr_shared.pace import Health

Limit = Annotated[int, Field(ge=1, le=500)]
ResultT = TypeVar("ResultT")
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


class CheckInObjective(ObjectiveRequest):
    check_in: CheckInCreate


class ListCheckIns(ObjectiveRequest):
    skip: Offset = 0
    limit: Limit = 20


class PeriodRequest(Contract):
    actor: Actor
    year: Annotated[int, Field(ge=2000, le=2100)]
    quarter: Quarter | None = None


class ReportObjectives(Contract):
    """Every live objective the caller may see, of a year (and quarter) if given, with links."""

    actor: Actor
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    quarter: Quarter | None = None


class ListPeriods(Contract):
    actor: Actor


class ObjectiveFilters(Contract):
    owner_id: Id | None = None
    level: ObjectiveLevel | None = None
    year: int | None = None
    quarter: Quarter | None = None
    status: ObjectiveStatus | None = None
    department: Department | None = None
    parent_id: Id | None = None
    health: Health | None = None


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


class TreeLevel(Contract):
    """One level of the tree view: its roots (no `parent_id`), or the children of `parent_id`."""

    actor: Actor
    parent_id: Id | None = None


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


class ObjectiveWrite(Contract, Generic[ResultT]):
    """A write's answer: its result, and the events it put in the outbox in the same
    transaction. The gateway applies them to its read model before it answers, so a writer reads
    their own write in the very next request; the same events arriving later change nothing."""

    result: ResultT
    events: list[ObjectiveEvent] = []


# Writes refuse what the caller may not do (403), what they may not see (404), what breaks the
# hierarchy or its rules (422) and a stale expected version (409).
WRITE_REFUSALS = (NotFound, Forbidden, Invalid, Conflict)
CREATE = RpcEndpoint(
    s.RPC_OBJECTIVES_CREATE, CreateObjective, ObjectiveWrite[ObjectiveResponse], WRITE_REFUSALS
)
UPDATE = RpcEndpoint(
    s.RPC_OBJECTIVES_UPDATE, UpdateObjective, ObjectiveWrite[ObjectiveResponse], WRITE_REFUSALS
)
MOVE = RpcEndpoint(
    s.RPC_OBJECTIVES_MOVE, MoveObjective, ObjectiveWrite[ObjectiveResponse], WRITE_REFUSALS
)
# A subtree's delete or restore answers the state of every objective it took: in chunks.
DELETE = RpcEndpoint(
    s.RPC_OBJECTIVES_DELETE, DeleteObjective, ObjectiveWrite[None], WRITE_REFUSALS, chunked=True
)
RESTORE = RpcEndpoint(
    s.RPC_OBJECTIVES_RESTORE,
    ObjectiveRequest,
    ObjectiveWrite[ObjectiveResponse],
    WRITE_REFUSALS,
    chunked=True,
)
LINK_KPI = RpcEndpoint(
    s.RPC_OBJECTIVES_LINK_KPI, LinkKpi, ObjectiveWrite[ObjectiveKPILink], WRITE_REFUSALS
)
UNLINK_KPI = RpcEndpoint(
    s.RPC_OBJECTIVES_UNLINK_KPI, UnlinkKpi, ObjectiveWrite[None], WRITE_REFUSALS
)
CHECK_IN = RpcEndpoint(
    s.RPC_OBJECTIVES_CHECK_IN, CheckInObjective, ObjectiveWrite[CheckIn], WRITE_REFUSALS
)
CHECK_INS = RpcEndpoint(s.RPC_OBJECTIVES_CHECK_INS, ListCheckIns, Page[CheckIn], (NotFound,))
# A close answers an event per few thousand objectives it graded: in chunks.
CLOSE_PERIOD = RpcEndpoint(
    s.RPC_PERIODS_CLOSE, PeriodRequest, ObjectiveWrite[Period], WRITE_REFUSALS, chunked=True
)
REOPEN_PERIOD = RpcEndpoint(
    s.RPC_PERIODS_REOPEN, PeriodRequest, ObjectiveWrite[Period], WRITE_REFUSALS, chunked=True
)
# A whole company's objectives with their links: in chunks.
REPORT = RpcEndpoint(
    s.RPC_OBJECTIVES_REPORT, ReportObjectives, list[ObjectiveReportRow], chunked=True
)
PERIODS = RpcEndpoint(s.RPC_PERIODS_LIST, ListPeriods, list[Period], (Forbidden,))
GET = RpcEndpoint(s.RPC_OBJECTIVES_GET, ObjectiveRequest, ObjectiveDetail, (NotFound,))
CREATABLE_LEVELS = RpcEndpoint(
    s.RPC_OBJECTIVES_CREATABLE_LEVELS, CreatableLevelsRequest, CreatableLevels
)
# 500 objectives with descriptions of 10,000 characters are more than a NATS message holds.
LIST = RpcEndpoint(s.RPC_OBJECTIVES_LIST, ListObjectives, Page[ObjectiveResponse], chunked=True)
OWNERS = RpcEndpoint(s.RPC_OBJECTIVES_OWNERS, VisibleOwners, list[int])
STATS = RpcEndpoint(s.RPC_OBJECTIVES_STATS, StatsSummary, ObjectiveStats)
# Answers no page bounds (a node's children, a 10,000-deep chain's ancestors, a company's
# ids, an objective's whole history): sent in chunks, as a NATS message has a limit.
CHILDREN = RpcEndpoint(
    s.RPC_OBJECTIVES_CHILDREN,
    ObjectiveRequest,
    list[ObjectiveResponse],
    (NotFound,),
    chunked=True,
)
ANCESTORS = RpcEndpoint(
    s.RPC_OBJECTIVES_ANCESTORS,
    ObjectiveRequest,
    list[ObjectiveResponse],
    (NotFound,),
    chunked=True,
)
VISIBLE_IDS = RpcEndpoint(s.RPC_OBJECTIVES_VISIBLE_IDS, VisibleIds, list[int], chunked=True)
BY_KPI = RpcEndpoint(
    s.RPC_OBJECTIVES_BY_KPI, ObjectivesByKpi, list[ObjectiveResponse], chunked=True
)
HISTORY = RpcEndpoint(
    s.RPC_OBJECTIVES_HISTORY, ObjectiveRequest, list[AuditEntry], (NotFound,), chunked=True
)
LINKS = RpcEndpoint(
    s.RPC_OBJECTIVES_LINKS, ObjectiveRequest, list[ObjectiveKPILink], (NotFound,), chunked=True
)
# Whole forests and Gantt charts, rendered to JSON by the service.
TREE = RpcEndpoint(
    s.RPC_OBJECTIVES_TREE, TreeView, list[ObjectiveTreeNode], (NotFound,), chunked=True
)
TREE_LEVEL = RpcEndpoint(
    s.RPC_OBJECTIVES_TREE_LEVEL, TreeLevel, list[ObjectiveTreeItem], (NotFound,), chunked=True
)
GANTT = RpcEndpoint(s.RPC_OBJECTIVES_GANTT, GanttView, list[ObjectiveGanttItem], chunked=True)
# The rows come as a parcel, and the answer holds an event per objective and link: in chunks.
IMPORT = RpcEndpoint(
    s.RPC_OBJECTIVES_IMPORT,
    ImportObjectives,
    ObjectiveWrite[ImportReport],
    WRITE_REFUSALS,
    chunked=True,
)
