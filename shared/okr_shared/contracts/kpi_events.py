"""What the KPIs service publishes on the KPI_EVENTS stream."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict

from okr_shared.contracts.common import Event


class KpiProgressChanged(Event):
    """A KPI's current value or progress changed. `version` is the KPI's: a consumer applies
    the event only when it is newer than what it holds. `progress` is null until the KPI has a
    value; such a KPI does not count in rollups."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "3f2b8c1e-7d4a-4e2b-9a61-0c5d2e8f1a37",
                    "occurred_at": "2025-03-31T17:00:01Z",
                    "type": "kpi.progress_changed",
                    "kpi_id": 12,
                    "progress": 85.0,
                    "value": 42.5,
                    "observed_at": "2025-03-31T17:00:00Z",
                    "active": True,
                    "version": 7,
                }
            ]
        }
    )

    type: Literal["kpi.progress_changed"] = "kpi.progress_changed"
    kpi_id: int
    progress: float | None
    value: float | None
    observed_at: datetime | None
    active: bool
    version: int
