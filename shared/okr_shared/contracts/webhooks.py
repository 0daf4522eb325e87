"""Webhooks out: what an admin registers, what is delivered, and what the receiver is sent.

A delivery's body is `{"type": ..., "timestamp": ..., "data": {...}}` (the Standard Webhooks
shape), signed with the endpoint's secret in the `webhook-id`, `webhook-timestamp` and
`webhook-signature` headers. `webhook-id` is derived from the event, so it is the same on
every retry of that event: a receiver that has seen it may ignore it.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from okr_shared.contracts.common import Contract, PartialUpdate
from okr_shared.contracts.fields import NoNul


class WebhookEventType(StrEnum):
    """What an endpoint may subscribe to. There is no `objective.health_changed`: health is
    computed from the date as an objective is read, so no moment marks its change."""

    OBJECTIVE_CREATED = "objective.created"
    OBJECTIVE_UPDATED = "objective.updated"
    OBJECTIVE_MOVED = "objective.moved"
    OBJECTIVE_DELETED = "objective.deleted"
    OBJECTIVE_PROGRESS_CHANGED = "objective.progress_changed"
    KPI_VALUE_REJECTED = "kpi.value_rejected"


PING = "webhook.ping"  # the type of what `POST /api/v1/webhooks/{id}/test` sends
# Standard Webhooks: a secret is whsec_ and the base64 of its bytes.
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def webhook_id(source: str) -> str:
    """The `webhook-id` of a message: `msg_` and the id of the event it carries (an event id,
    or a dead letter's Nats-Msg-Id), so every retry of one event carries one id."""
    return "msg_" + _ID_UNSAFE.sub("_", source)


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials: the signature authenticates okr")
    if parts.fragment:
        raise ValueError("must not have a #fragment")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as err:
        raise ValueError(f"bad port: {err}") from None
    return value


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    NoNul,
    AfterValidator(_web_url),
]
EventTypes = Annotated[list[WebhookEventType], Field(min_length=1, max_length=20)]
EndpointDescription = Annotated[str, StringConstraints(max_length=500), NoNul]


class EndpointCreate(BaseModel):
    """`POST /api/v1/webhooks`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/okr",
                    "events": ["objective.progress_changed", "kpi.value_rejected"],
                    "description": "the BI team's alerts",
                }
            ]
        },
    )

    url: WebhookUrl
    events: EventTypes
    description: EndpointDescription = ""


class EndpointUpdate(PartialUpdate):
    """`PATCH /api/v1/webhooks/{id}`: any of these. `{"enabled": true}` enables an endpoint
    again (one that was disabled for failing, too); its pending deliveries are retried."""

    url: WebhookUrl | None = None
    events: EventTypes | None = None
    description: EndpointDescription | None = None
    enabled: bool | None = None


class Endpoint(Contract):
    id: int
    url: str
    events: list[WebhookEventType]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description="why it was disabled (failing, or by hand)")
    disabled_at: datetime | None
    failing_since: datetime | None = Field(
        description="the first failed attempt since its last success; disabled after 24 h"
    )
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(Endpoint):
    """Answered once, on creation and on rotation: the secret is not shown again."""

    secret: str = Field(description="whsec_…: verify each delivery's signature with it")


DeliveryStatus = Literal["pending", "delivered", "failed"]


class DeliveryAttempt(Contract):
    attempt: int
    at: datetime
    outcome: Literal["delivered", "failed"]
    response_code: int | None = Field(description="the receiver's HTTP status, if it answered")
    latency_ms: float
    error: str | None = Field(description="why it failed, when the receiver gave no 2xx")


class Delivery(Contract):
    """One event for one endpoint, and every attempt to deliver it (newest first)."""

    id: int
    webhook_id: str
    event_type: str
    status: DeliveryStatus = Field(
        description="pending (due at next_attempt_at), delivered, or failed (gave up after 24 h)"
    )
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[DeliveryAttempt]


class KpiValueRejected(Contract):
    """The `data` of a `kpi.value_rejected` delivery: a value the KPIs service refused."""

    kpi_id: int | None = Field(description="null when the message named no KPI one could read")
    reason: str
    idempotency_key: str | None
    subject: str = Field(description="the NATS subject the value was published on")
    source: str | None = Field(
        default=None,
        description="who sent it, as the subject says: hr, integration:<id> or user:<id>",
    )
    value: float | None
    rejected_at: datetime
