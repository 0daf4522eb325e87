"""Objectives: what API consumers send and receive, and what the objectives service publishes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

from okr_shared import pace
from okr_shared.contracts.common import Contract, PartialUpdate
from okr_shared.contracts.fields import BIGINT_MAX, Department, Description, Id, Note, Title
from okr_shared.pace import Health


class ObjectiveLevel(StrEnum):
    COMPANY = "company"
    DIVISION = "division"
    TEAM = "team"
    INDIVIDUAL = "individual"

    @property
    def rank(self) -> int:
        """0 at the top: a child's rank is strictly greater than its parent's."""
        return list(ObjectiveLevel).index(self)


class ObjectiveStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    ON_HOLD = "on_hold"


class Quarter(StrEnum):
    Q1 = "Q1"
    Q2 = "Q2"
    Q3 = "Q3"
    Q4 = "Q4"

    def bounds(self, year: int) -> tuple[date, date]:
        first_month = 3 * (int(self.value[1]) - 1) + 1
        start = date(year, first_month, 1)
        end = date(year + 1, 1, 1) if first_month == 10 else date(year, first_month + 3, 1)
        return start, date.fromordinal(end.toordinal() - 1)


class ObjectiveAction(StrEnum):
    """What a caller may do with one objective (an objective detail lists the allowed ones)."""

    UPDATE = "update"
    DELETE = "delete"
    MOVE = "move"
    LINK = "link"  # link and unlink KPIs


Year = Annotated[int, Field(ge=2000, le=2100)]
Percentage = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class ObjectiveCreate(BaseModel):
    """`POST /api/v1/objectives`. Server-controlled fields are not accepted (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    description: Description = ""
    level: ObjectiveLevel
    parent_id: Id | None = None
    owner_id: Id | None = Field(default=None, description="defaults to the caller")
    department: Department | None = Field(default=None, description="defaults to the owner's")
    year: Year
    quarter: Quarter | None = Field(default=None, description="null for an annual objective")
    start_date: date | None = Field(default=None, description="defaults to the period's start")
    end_date: date | None = Field(default=None, description="defaults to the period's end")
    status: ObjectiveStatus = ObjectiveStatus.ACTIVE
    progress_percentage: Percentage = Field(
        default=0, description="manual progress; children or KPIs drive it once they exist"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        start, end = self.period()
        if end < start:
            given = "end_date" if self.end_date else "start_date"
            raise ValueError(
                f"end_date must not be before start_date ({start} to {end}; "
                f"the {given} was given and the other is the period's default)"
                if not (self.start_date and self.end_date)
                else "end_date must not be before start_date"
            )
        return self

    def period(self) -> tuple[date, date]:
        """The dates given, else the quarter's (or the year's) first and last day."""
        start, end = self.quarter.bounds(self.year) if self.quarter else _year_bounds(self.year)
        return self.start_date or start, self.end_date or end


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


class ObjectiveUpdate(PartialUpdate):
    """`PUT /api/v1/objectives/{id}`: every field optional; only the nullable ones (`parent_id`,
    `department`, `quarter`) may be set to null. `version` (or an `If-Match` header) makes the
    update conditional: 409 when the objective has changed since."""

    nullable = frozenset({"parent_id", "department", "quarter"})

    title: Title | None = None
    description: Description | None = None
    parent_id: Id | None = None
    owner_id: Id | None = None
    department: Department | None = None
    year: Year | None = None
    quarter: Quarter | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: ObjectiveStatus | None = None
    progress_percentage: Percentage | None = Field(
        default=None, description="manual progress; refused when children or KPIs drive it"
    )
    version: Annotated[int, Field(ge=1, le=BIGINT_MAX)] | None = None


class ObjectiveMove(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    new_parent_id: Id | None = Field(description="null makes it a top-level objective")
    version: Annotated[int, Field(ge=1, le=BIGINT_MAX)] | None = None


class ObjectiveKPILinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi_id: Id
    weight: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0


class CheckInStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


class CheckInCreate(BaseModel):
    """`POST /api/v1/objectives/{id}/check-ins`: the author, the time and the progress at that
    moment are the server's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CheckInStatus
    confidence: Annotated[int, Field(ge=0, le=10)] | None = Field(
        default=None, description="0 (none) to 10 (certain) that the objective will be met"
    )
    note: Note = ""


class CheckIn(Contract):
    id: int
    objective_id: int
    status: CheckInStatus
    confidence: int | None
    note: str
    progress_percentage: float = Field(description="the objective's progress when it was made")
    author_id: int
    at: datetime


class ObjectiveResponse(Contract):
    id: int
    title: str
    description: str
    parent_id: int | None
    level: ObjectiveLevel
    owner_id: int
    department: str | None
    year: int
    quarter: Quarter | None
    start_date: date
    end_date: date
    status: ObjectiveStatus
    progress_percentage: float
    created_at: datetime
    updated_at: datetime
    created_by: int
    version: int
    last_check_in: CheckIn | None = None
    grade: float | None = Field(
        default=None,
        description="progress / 100 when its period closed (0.7: a stretch goal met); "
        "while set, the objective is frozen",
    )

    # An objective's pace, computed as it is serialised (okr_shared.pace): right on every read,
    # with no event when a day passes.
    @computed_field(  # type: ignore[prop-decorator]
        description="the share of its period elapsed today, 0-100"
    )
    @property
    def expected_progress(self) -> float:
        return pace.expected_progress(self.start_date, self.end_date, pace.today())

    @computed_field(  # type: ignore[prop-decorator]
        description="not_started before start_date; completed and abandoned from the status; "
        "else on_track, at_risk or off_track by how far progress trails expected_progress"
    )
    @property
    def health(self) -> Health:
        return pace.current().health(
            self.status, self.progress_percentage, self.start_date, self.end_date, pace.today()
        )


class KpiWeight(Contract):
    kpi_id: int
    weight: float


class ObjectiveReportRow(ObjectiveResponse):
    """One objective of an export: what a review reads, with its KPI links."""

    kpis: list[KpiWeight]


class ObjectiveTreeItem(ObjectiveResponse):
    """One objective of a level of the tree (`GET /api/v1/objectives/tree/level`): what a tree
    that loads a level at a time needs to draw an expander before it asks for the next."""

    child_count: int = Field(description="its live children the caller may see")


class ObjectiveDetail(ObjectiveResponse):
    owner_name: str | None = Field(description="the owner's full name, else username")
    parent_title: str | None
    child_count: int
    kpi_count: int
    allowed_actions: list[ObjectiveAction] = Field(
        default_factory=list,
        description="what the caller may do with it, decided by the objectives service",
    )


class ObjectiveTreeNode(Contract):
    """One node of `GET /api/v1/objectives/tree/view` (the answer is a list of them)."""

    id: int
    title: str
    level: ObjectiveLevel
    status: ObjectiveStatus
    parent_id: int | None
    owner_id: int
    department: str | None
    year: int
    quarter: Quarter | None
    start_date: date
    end_date: date
    progress_percentage: float
    expected_progress: float
    health: Health
    last_check_in: CheckIn | None
    grade: float | None
    children: list[ObjectiveTreeNode]


class ObjectiveKPILink(Contract):
    objective_id: int
    kpi_id: int
    weight: float
    created_at: datetime
    created_by: int


class ObjectiveGanttItem(Contract):
    id: int
    title: str
    level: ObjectiveLevel
    start: date
    end: date
    progress: float
    parent_id: int | None
    dependencies: list[int] = Field(
        description="the objectives this one's progress depends on: its live children"
    )


class ObjectiveStats(Contract):
    total: int
    by_level: dict[str, int]
    by_status: dict[str, int]
    by_health: dict[str, int]
    average_progress: float | None


class AuditEntry(Contract):
    id: int
    objective_id: int
    action: str
    actor_id: int
    at: datetime
    changes: dict[str, list[Any]] = Field(description="field -> [old value, new value]")


class CreatableLevels(Contract):
    """`GET /api/v1/objectives/creatable/levels`: the levels the caller may create objectives at
    (owned by themselves, in their own department)."""

    levels: list[ObjectiveLevel]
