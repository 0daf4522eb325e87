"""Objectives: what API consumers send and receive, and what the objectives service publishes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from okr_shared.contracts.common import Actor, Contract, Event
from okr_shared.contracts.fields import Department, Description, Id, Title


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


# --- request/reply --------------------------------------------------------------------------


class CreateObjective(Contract):
    """The gateway resolved the owner (default: the caller) and the owner's department."""

    actor: Actor
    data: ObjectiveCreate
    owner_id: int
    owner_department: str | None


class GetObjective(Contract):
    actor: Actor
    objective_id: Id


# --- events ---------------------------------------------------------------------------------


class ObjectiveState(Contract):
    """What rollup needs of an objective: its place in the tree and its own progress."""

    id: int
    parent_id: int | None
    level: ObjectiveLevel
    status: ObjectiveStatus
    progress_percentage: float
    version: int


class ObjectiveCreated(Event):
    type: Literal["objective.created"] = "objective.created"
    objective: ObjectiveState
