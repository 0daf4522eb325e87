"""KPIs: what API consumers send and receive, and what HR systems publish on NATS."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from okr_shared.contracts.common import Contract, PartialUpdate
from okr_shared.contracts.fields import (
    BIGINT_MAX,
    Department,
    Description,
    Id,
    NoNul,
    ObservedAt,
    Title,
)
from okr_shared.contracts.objectives import Quarter

Number = Annotated[float, Field(allow_inf_nan=False)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), NoNul]
Source = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
Year = Annotated[int, Field(ge=2000, le=2100)]


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    MAINTAIN_ABOVE = "maintain_above"
    MAINTAIN_BELOW = "maintain_below"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class KpiStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


def check_target(direction: Direction, baseline: float, target: float) -> None:
    """A KPI whose target lies the wrong way from its baseline can never make progress."""
    if direction is Direction.INCREASE and target < baseline:
        raise ValueError("an increase KPI needs target_value >= baseline_value")
    if direction is Direction.DECREASE and target > baseline:
        raise ValueError("a decrease KPI needs target_value <= baseline_value")


class KpiCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    description: Description = ""
    owner_id: Id | None = Field(default=None, description="defaults to the caller")
    department: Department | None = Field(default=None, description="defaults to the owner's")
    unit: Unit = ""
    direction: Direction = Direction.INCREASE
    baseline_value: Number = 0.0
    target_value: Number
    year: Year
    quarter: Quarter | None = None
    frequency: Frequency | None = None

    @model_validator(mode="after")
    def _target_reachable(self) -> Self:
        check_target(self.direction, self.baseline_value, self.target_value)
        return self


class KpiUpdate(PartialUpdate):
    """Every field optional; `department`, `quarter` and `frequency` may be set to null.
    `version` (or `If-Match`) makes it conditional: 409 when the KPI has changed since."""

    nullable = frozenset({"department", "quarter", "frequency"})

    title: Title | None = None
    description: Description | None = None
    owner_id: Id | None = None
    department: Department | None = None
    unit: Unit | None = None
    direction: Direction | None = None
    baseline_value: Number | None = None
    target_value: Number | None = None
    year: Year | None = None
    quarter: Quarter | None = None
    frequency: Frequency | None = None
    version: Annotated[int, Field(ge=1, le=BIGINT_MAX)] | None = None


class KpiResponse(Contract):
    id: int
    title: str
    description: str
    owner_id: int
    department: str | None
    unit: str
    direction: Direction
    baseline_value: float
    target_value: float
    current_value: float | None
    current_observed_at: datetime | None
    year: int
    quarter: Quarter | None
    frequency: Frequency | None
    status: KpiStatus
    progress_percentage: float | None
    created_at: datetime
    updated_at: datetime
    created_by: int
    version: int


class KpiAction(StrEnum):
    """What a caller may do with one KPI (a KPI detail lists the allowed ones)."""

    UPDATE = "update"  # and archive
    WRITE_VALUES = "write_values"


class KpiDetail(KpiResponse):
    """`GET /api/v1/kpis/{id}`: the KPI and what the caller may do with it."""

    allowed_actions: list[KpiAction] = Field(
        default_factory=list, description="decided by the KPIs service"
    )


# --- values ---------------------------------------------------------------------------------


class KpiValueIn(BaseModel):
    """The body of a message on `kpi.values.<kpi_id>`, and of `POST /api/v1/kpis/{id}/values`.
    The `Nats-Msg-Id` header (or the `Idempotency-Key` header) is the idempotency key."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"value": 42.5, "observed_at": "2025-03-31T17:00:00Z", "source": "workday"},
                {"value": 7},
            ]
        },
    )

    value: Number
    observed_at: ObservedAt | None = Field(
        default=None,
        description="ISO-8601, UTC unless it has an offset; from 1900 to at most "
        "OKR_KPIS_MAX_CLOCK_SKEW_S (300 s) from now; default: now",
    )
    source: Source | None = None


class KpiBatchItem(KpiValueIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kpi_id": 12, "value": 42.5, "idempotency_key": "workday-2025-03-31-12"},
            ]
        }
    )

    kpi_id: Id
    idempotency_key: IdempotencyKey | None = None


class KpiBatchIn(BaseModel):
    """The body of a message on `kpi.values.batch`: many values in one message, for bulk loads."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "values": [
                        {"kpi_id": 12, "value": 42.5, "observed_at": "2025-03-31T17:00:00Z"},
                        {"kpi_id": 13, "value": 0.93, "source": "sap", "idempotency_key": "q1-13"},
                    ]
                }
            ]
        },
    )

    values: Annotated[list[KpiBatchItem], Field(min_length=1, max_length=5000)]


class ValueAccepted(Contract):
    event_id: str = Field(description="the idempotency key the value was published under")
    status: str = "accepted"


class BatchItemResult(Contract):
    index: int
    kpi_id: int
    status: str = Field(description="accepted, or rejected")
    event_id: str | None = None
    reason: str | None = None


class KpiValue(Contract):
    id: int
    kpi_id: int
    value: float
    observed_at: datetime
    received_at: datetime
    source: str | None = Field(
        description="who sent it, from the NATS subject its sender alone may publish on: `hr` "
        "(the shared HR user), `integration:<id>`, or `user:<id>` (recorded over REST); null "
        "for values stored before senders were recorded"
    )
    source_label: str | None = Field(
        default=None, description="the `source` the sender wrote in the payload: a label only"
    )
    idempotency_key: str | None


class Rejection(Contract):
    """A value the KPIs service refused, as kept in the KPI_VALUES_DLQ stream."""

    sequence: int
    subject: str
    reason: str
    payload: str
    idempotency_key: str | None
    rejected_at: datetime


class SourceStats(Contract):
    """What one sender (`hr`, `integration:<id>`, `user:<id>`) has sent, counted at ingest."""

    source: str
    values_sent: int = Field(description="values that reached ingest, refused ones included")
    values_refused: int = Field(
        description="refused at ingest: unknown or archived KPI, invalid value or payload"
    )
    last_published_at: datetime | None = Field(
        description="when the stream stored its newest message"
    )
    last_refused_at: datetime | None
