"""KPIs as readers see them, and as the KPI_EVENTS stream tells them."""

from __future__ import annotations

from okr_kpis.models import Kpi, KpiValue
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.kpis import KpiResponse, KpiStatus
from okr_shared.contracts.kpis import KpiValue as KpiValueView


def response(kpi: Kpi) -> KpiResponse:
    return KpiResponse.model_validate(kpi, from_attributes=True)


def value_view(value: KpiValue) -> KpiValueView:
    return KpiValueView.model_validate(value, from_attributes=True)


def progress_event(kpi: Kpi) -> KpiProgressChanged:
    return KpiProgressChanged(
        kpi_id=kpi.id,
        progress=kpi.progress_percentage,
        value=kpi.current_value,
        observed_at=kpi.current_observed_at,
        active=kpi.status == KpiStatus.ACTIVE.value,
        version=kpi.version,
    )
