"""Rollup: what the progress service publishes and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict

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


# The progress service's request/reply endpoints.
CALCULATE = RpcEndpoint(s.RPC_PROGRESS_CALCULATE, ProgressRequest, ProgressCalculation, (NotFound,))
RECALCULATE = RpcEndpoint(
    s.RPC_PROGRESS_RECALCULATE, ProgressRequest, ProgressCalculation, (NotFound,)
)
REBUILD = RpcEndpoint(s.RPC_PROGRESS_REBUILD, Export, RebuildReport)
# Whole exports, larger than a NATS message may be: sent as JSON in chunks.
OBJECTIVES_EXPORT = RpcEndpoint(s.RPC_OBJECTIVES_EXPORT, Export, ObjectivesExport, chunked=True)
KPIS_EXPORT = RpcEndpoint(s.RPC_KPIS_EXPORT, Export, KpisExport, chunked=True)
