"""Rollup: what the progress service publishes and answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Self

from pydantic import ConfigDict, model_validator

from okr_shared import subjects as s
from okr_shared.contracts.common import Actor, Contract, Event
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.fields import Id
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import LinkState, ObjectiveState
from okr_shared.errors import NotFound


class CalculationMethod(StrEnum):
    CHILDREN = "children"  # the plain average of its live, not abandoned children
    KPIS = "kpis"  # the weighted average of its linked KPIs that have a progress
    MANUAL = "manual"  # its own progress, set with PUT


class ProgressCalculation(Contract):
    objective_id: int
    progress_percentage: float
    calculation_method: CalculationMethod
    child_count: int
    kpi_count: int
    last_calculated: datetime


class ObjectiveProgressUpdated(Event):
    """Published on `progress.objective.<id>` whenever an objective's rollup changes. `version`
    rises with every change, so a reader keeps the newest whatever the order of arrival."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "9b1d4f0a-2c3e-4b5a-8d7f-6e1a2b3c4d5e",
                    "occurred_at": "2025-03-31T17:00:01Z",
                    "type": "progress.objective.updated",
                    "objective_id": 3,
                    "progress_percentage": 61.25,
                    "calculation_method": "kpis",
                    "child_count": 0,
                    "kpi_count": 2,
                    "last_calculated": "2025-03-31T17:00:01Z",
                    "version": 14,
                }
            ]
        }
    )

    type: Literal["progress.objective.updated"] = "progress.objective.updated"
    objective_id: int
    progress_percentage: float
    calculation_method: CalculationMethod
    child_count: int
    kpi_count: int
    last_calculated: datetime
    version: int


class ProgressRequest(Contract):
    actor: Actor  # the gateway has checked that the caller may see the objective
    objective_id: Id


class ContributionKind(StrEnum):
    KPI = "kpi"  # a linked KPI with a progress, wherever it is linked below
    MANUAL = "manual"  # an objective whose own (manual) progress counts: no children, no KPIs
    GRADED = "graded"  # an objective whose period is closed: its graded progress counts


class Contribution(Contract):
    """What one source moves of an objective's progress: `effective_weight` is its share (the
    product of its shares on the way up, summed over every place it is linked), so one point
    more of `progress` moves the objective by `effective_weight` points; `contribution` is
    `effective_weight` x `progress`. `path` runs from the objective down to `objective_id`, the
    one that links the KPI (by its heaviest link) or whose manual or graded progress counts."""

    kind: ContributionKind
    kpi_id: int | None
    objective_id: int | None
    path: list[int | None]
    effective_weight: float
    progress: float
    contribution: float


class Contributions(Contract):
    """Every source of an objective's progress, the largest contribution first: the effective
    weights sum to 1, and the contributions to `progress_percentage`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "objective_id": 2,
                    "progress_percentage": 60.0,
                    "items": [
                        {
                            "kind": "manual",
                            "kpi_id": None,
                            "objective_id": 7,
                            "path": [2, 7],
                            "effective_weight": 0.5,
                            "progress": 70.0,
                            "contribution": 35.0,
                        },
                        {
                            "kind": "kpi",
                            "kpi_id": 12,
                            "objective_id": 5,
                            "path": [2, 5],
                            "effective_weight": 0.375,
                            "progress": 40.0,
                            "contribution": 15.0,
                        },
                        {
                            "kind": "kpi",
                            "kpi_id": 11,
                            "objective_id": 5,
                            "path": [2, 5],
                            "effective_weight": 0.125,
                            "progress": 80.0,
                            "contribution": 10.0,
                        },
                    ],
                }
            ]
        }
    )

    objective_id: int
    progress_percentage: float
    items: list[Contribution]


class Export(Contract):
    """Asked of the objectives and KPIs services by a rebuild: everything, as current states."""


class ObjectivesExport(Contract):
    objectives: list[ObjectiveState]  # deleted ones too
    links: list[LinkState]  # inactive ones too


class KpisExport(Contract):
    kpis: list[KpiProgressChanged]


class RebuildReport(Contract):
    objectives: int
    links: int
    kpis: int
    changed: int


class HistoryBucket(StrEnum):
    """The span a history point stands for: the last rollup recorded in it (UTC; weeks start
    on Monday)."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


BUCKET_LENGTH = {
    HistoryBucket.HOUR: timedelta(hours=1),
    HistoryBucket.DAY: timedelta(days=1),
    HistoryBucket.WEEK: timedelta(weeks=1),
}
# At most this many buckets in one answer: 100 days of hours, 6.5 years of days. It keeps an
# answer far below a NATS message (a point is about 70 bytes of JSON) and a chart readable.
MAX_HISTORY_BUCKETS = 2_400


def history_range_problem(since: datetime, until: datetime, bucket: HistoryBucket) -> str | None:
    """What is wrong with asking for the history from `since` to `until` by `bucket`, if
    anything: said so that the caller knows what to change."""
    if until < since:
        return f"from must not be after to (from {since.isoformat()}, to {until.isoformat()})"
    buckets = (until - since) / BUCKET_LENGTH[bucket]
    if buckets > MAX_HISTORY_BUCKETS:
        longest = BUCKET_LENGTH[bucket] * MAX_HISTORY_BUCKETS
        wider = "; or use a wider bucket (day, week)" if bucket is not HistoryBucket.WEEK else ""
        return (
            f"from to to spans {buckets:,.0f} {bucket.value}s, more than the "
            f"{MAX_HISTORY_BUCKETS:,} an answer may hold: ask for at most {longest.days:,} days"
            f" by {bucket.value}{wider}"
        )
    return None


class ProgressHistoryRequest(Contract):
    actor: Actor  # the gateway has checked that the caller may see the objective
    objective_id: Id
    since: datetime
    until: datetime
    bucket: HistoryBucket = HistoryBucket.DAY

    @model_validator(mode="after")
    def sensible_range(self) -> Self:
        problem = history_range_problem(self.since, self.until, self.bucket)
        if problem:
            raise ValueError(problem)
        return self


class ProgressPoint(Contract):
    at: datetime  # when this rollup was recorded: the last one of its bucket
    progress: float


class ProgressPoints(Contract):
    points: list[ProgressPoint]  # oldest first, one per bucket that has any


class ProgressHistoryPoint(ProgressPoint):
    expected_progress: float  # okr_shared.pace.expected_progress on the day of `at`


class ProgressHistory(Contract):
    """`GET /api/v1/objectives/{id}/progress/history`."""

    points: list[ProgressHistoryPoint]


# The progress service's request/reply endpoints.
CALCULATE = RpcEndpoint(s.RPC_PROGRESS_CALCULATE, ProgressRequest, ProgressCalculation, (NotFound,))
RECALCULATE = RpcEndpoint(
    s.RPC_PROGRESS_RECALCULATE, ProgressRequest, ProgressCalculation, (NotFound,)
)
REBUILD = RpcEndpoint(s.RPC_PROGRESS_REBUILD, Export, RebuildReport)
HISTORY = RpcEndpoint(s.RPC_PROGRESS_HISTORY, ProgressHistoryRequest, ProgressPoints)
# One item per KPI (and manual objective) of a subtree, which may be a whole company: in chunks.
CONTRIBUTIONS = RpcEndpoint(
    s.RPC_PROGRESS_CONTRIBUTIONS, ProgressRequest, Contributions, (NotFound,), chunked=True
)
# Whole exports, larger than a NATS message may be: sent as JSON in chunks.
OBJECTIVES_EXPORT = RpcEndpoint(s.RPC_OBJECTIVES_EXPORT, Export, ObjectivesExport, chunked=True)
KPIS_EXPORT = RpcEndpoint(s.RPC_KPIS_EXPORT, Export, KpisExport, chunked=True)
