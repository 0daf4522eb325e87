"""The webhook messages that events on the streams become: a type, a stable `webhook-id`, and
the exact body every attempt sends (`{"type", "timestamp", "data"}`, Standard Webhooks' shape).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from pydantic_core import to_jsonable_python

from okr_shared import subjects
from okr_shared.contracts.objective_events import (
    ObjectiveCreated,
    ObjectiveEvent,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectiveUpdated,
)
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.contracts.webhooks import KpiValueRejected, WebhookEventType, webhook_id

ENVELOPE = {"event_id", "occurred_at", "type"}  # said by the headers and the message's own fields
OBJECTIVE_TYPES = {
    ObjectiveCreated: WebhookEventType.OBJECTIVE_CREATED,
    ObjectiveUpdated: WebhookEventType.OBJECTIVE_UPDATED,
    ObjectiveMoved: WebhookEventType.OBJECTIVE_MOVED,
    ObjectivesDeleted: WebhookEventType.OBJECTIVE_DELETED,
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    event_type: str
    webhook_id: str
    body: bytes


def body(event_type: str, timestamp: datetime, data: Any) -> bytes:
    message = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(to_jsonable_python(message), separators=(",", ":")).encode()


def from_objective_event(event: ObjectiveEvent) -> Outgoing | None:
    """Objective events that endpoints may subscribe to; the rest (links, restores) are not."""
    kind = OBJECTIVE_TYPES.get(type(event))
    if kind is None:
        return None
    data = event.model_dump(mode="json", exclude=ENVELOPE)
    return Outgoing(kind, webhook_id(str(event.event_id)), body(kind, event.occurred_at, data))


def from_progress(event: ObjectiveProgressUpdated) -> Outgoing:
    kind = WebhookEventType.OBJECTIVE_PROGRESS_CHANGED
    data = event.model_dump(mode="json", exclude=ENVELOPE)
    return Outgoing(kind, webhook_id(str(event.event_id)), body(kind, event.occurred_at, data))


def from_dead_letter(msg: Msg) -> Outgoing:
    """A value the KPIs service refused, as its dead letter tells it. Never fails: a letter
    whose payload cannot be read still says what was refused and why."""
    headers = msg.headers or {}
    meta = msg.metadata
    stored = _json_object(msg.data)
    subject = headers.get("Okr-Original-Subject", subjects.original_subject(msg.subject))
    rejected = KpiValueRejected(
        kpi_id=_kpi_id(subject, stored),
        reason=headers.get("Okr-Dlq-Reason", ""),
        idempotency_key=_text(stored.get("idempotency_key")) or headers.get("Okr-Original-Msg-Id"),
        subject=subject,
        source=_sender(subject)[0],
        value=_number(stored.get("value")),
        rejected_at=_aware(meta.timestamp) if meta.timestamp else datetime.now(UTC),
    )
    source = headers.get("Nats-Msg-Id") or f"dlq:{meta.stream}:{meta.sequence.stream}"
    kind = WebhookEventType.KPI_VALUE_REJECTED
    return Outgoing(
        kind, webhook_id(source), body(kind, rejected.rejected_at, rejected.model_dump())
    )


def _sender(subject: str) -> tuple[str | None, str | None]:
    """(who sent it, the KPI id or `batch`), as the subject says; (None, None) for a subject
    that is none of the value subjects."""
    try:
        return subjects.parse_value_subject(subject)
    except ValueError:
        return None, None


def _kpi_id(subject: str, stored: dict[str, Any]) -> int | None:
    _, tail = _sender(subject)
    if tail != "batch":
        return int(tail) if tail and tail.isdigit() and len(tail) <= 18 else None
    found = stored.get("kpi_id")  # one item of a batch message
    return found if isinstance(found, int) and not isinstance(found, bool) and found > 0 else None


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        found = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of 400 digits
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
