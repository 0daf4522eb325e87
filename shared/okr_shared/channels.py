"""Every event channel, declared once: its subject pattern, its payload model and what it is
for. The services that publish and consume a channel (outboxes, batch consumers, the gateway's
live streams and value routes) name these declarations, and the AsyncAPI document is made from
them, so no two places can describe one subject differently."""

from __future__ import annotations

from okr_shared import subjects as s
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.kpis import KpiBatchIn, KpiValueIn
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.event_channels import Channel, channel_per_event

# One channel per event type: each event's `type` is its subject (okr_shared.contracts).
OBJECTIVE_EVENTS = channel_per_event(ObjectiveEvent, "A change to objectives or their KPI links.")

KPI_VALUE = Channel(
    s.KPI_VALUE_ADDRESS,
    KpiValueIn,
    "One value of the KPI named in the subject, published by the shared HR user. The "
    "Nats-Msg-Id header is the idempotency key.",
)
KPI_VALUE_BATCH = Channel(
    s.KPI_VALUE_BATCH,
    KpiBatchIn,
    "Many values in one message, for bulk loads; each item is stored or refused on its own.",
)
KPI_VALUE_INTEGRATION = Channel(
    s.KPI_VALUE_INTEGRATION_ADDRESS,
    KpiValueIn,
    "One value, published by one integration under its own prefix (its NATS permissions allow "
    "no other), or by the gateway for that integration's API key: stored with source "
    "integration:<id>.",
)
KPI_VALUE_INTEGRATION_BATCH = Channel(
    s.KPI_VALUE_INTEGRATION_BATCH_ADDRESS,
    KpiBatchIn,
    "Many values in one message, published by one integration under its own prefix (or by the "
    "gateway for its API key).",
)
KPI_VALUE_USER = Channel(
    s.KPI_VALUE_USER_ADDRESS,
    KpiValueIn,
    "One value a user recorded through POST /api/v1/kpis/{id}/values, published by the "
    "gateway: source user:<id>.",
)
KPI_VALUE_USER_BATCH = Channel(
    s.KPI_VALUE_USER_BATCH_ADDRESS,
    KpiBatchIn,
    "Values a user recorded through POST /api/v1/kpis/values/batch, published by the gateway.",
)
KPI_VALUES = (
    KPI_VALUE,
    KPI_VALUE_BATCH,
    KPI_VALUE_INTEGRATION,
    KPI_VALUE_INTEGRATION_BATCH,
    KPI_VALUE_USER,
    KPI_VALUE_USER_BATCH,
)
KPI_VALUE_REJECTED = Channel(
    s.KPI_VALUE_REJECTIONS,
    KpiValueIn,
    "KPI values the KPIs service refused, as they were sent (a value, or one item of a batch), "
    "with the reason in `Okr-Dlq-Reason`; the webhooks service sends each on as "
    "kpi.value_rejected.",
)
KPI_PROGRESS_CHANGED = Channel(
    s.KPI_PROGRESS_CHANGED,
    KpiProgressChanged,
    "A KPI's value, progress or definition changed; the progress service rolls it up.",
)
PROGRESS_UPDATED = Channel(
    s.PROGRESS_UPDATE_ADDRESS,
    ObjectiveProgressUpdated,
    "An objective's rollup changed: the objectives service keeps it with the objective, the "
    "gateway's live streams pass it on, the webhooks service sends it on as "
    "objective.progress_changed.",
)
