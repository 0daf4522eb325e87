"""What the KPIs service publishes on the KPI_EVENTS stream."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from okr_shared.contracts.common import Event


class KpiProgressChanged(Event):
    """A KPI's current value or progress changed. `version` is the KPI's: a consumer applies
    the event only when it is newer than what it holds. `progress` is null until the KPI has a
    value; such a KPI does not count in rollups."""

    type: Literal["kpi.progress_changed"] = "kpi.progress_changed"
    kpi_id: int
    progress: float | None
    value: float | None
    observed_at: datetime | None
    active: bool
    version: int
