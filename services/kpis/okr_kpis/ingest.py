"""Ingestion: KPI values from HR systems, in batches, each stored once.

A pulled batch is one transaction: lock the KPIs it names (in id order), refuse what cannot be
stored (unknown or archived KPI, a timestamp too far in the future), insert the rest with one
statement that skips repeated idempotency keys, move each KPI's current value only when a value
is newer than the current one, and put one kpi.progress_changed per changed KPI in the outbox.
Refused values go to KPI_VALUES_DLQ with their reason; the batch is acknowledged after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import Table, bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_kpis import repository
from okr_kpis.models import Kpi
from okr_kpis.progress import kpi_progress
from okr_shared import subjects
from okr_shared.consumer import Delivery, publish_dead_letter
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.kpis import Direction, KpiBatchIn, KpiBatchItem, KpiStatus, KpiValueIn
from okr_shared.event_channels import Channel
from okr_shared.outbox import Outbox

CONSUMER = "kpis-ingest"
KPIS = cast(Table, Kpi.__table__)

# What `decode` accepts, for the AsyncAPI document: HR systems publish these.
CHANNELS = (
    Channel(
        subjects.KPI_VALUE_ADDRESS,
        KpiValueIn,
        "One value of the KPI named in the subject, published by an HR system (or the gateway). "
        "The Nats-Msg-Id header is the idempotency key.",
    ),
    Channel(
        subjects.KPI_VALUE_BATCH,
        KpiBatchIn,
        "Many values in one message, for bulk loads; each item is stored or refused on its own.",
    ),
)  # core UPDATE: the batch's ORM objects must stay untouched


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, 100,000 a second
class Incoming:
    kpi_id: int
    value: float
    observed_at: datetime
    source: str | None
    key: str
    part: int | None  # its place in a batch message
    # The message body, or the batch item: serialised only if the value is refused.
    raw: bytes | KpiBatchItem

    @property
    def payload(self) -> bytes:
        """What goes to the dead-letter stream if this value is refused."""
        if isinstance(self.raw, bytes):
            return self.raw
        return self.raw.model_dump_json(exclude_none=True).encode()


def decode(msg: Msg) -> list[Incoming]:
    """The values one message carries. Without a Nats-Msg-Id the stream sequence is the key, so
    a redelivery is still recognised; without observed_at, the time the stream stored it."""
    meta = msg.metadata
    key = (msg.headers or {}).get("Nats-Msg-Id") or f"seq:{meta.sequence.stream}"
    stored_at = _aware(meta.timestamp) if meta.timestamp else datetime.now(UTC)
    if msg.subject == subjects.KPI_VALUE_BATCH:
        batch = KpiBatchIn.model_validate_json(msg.data)
        return [
            Incoming(
                item.kpi_id,
                item.value,
                _aware(item.observed_at or stored_at),
                item.source,
                item.idempotency_key or f"{key}:{index}",
                index,
                item,
            )
            for index, item in enumerate(batch.values)
        ]
    kpi_id = msg.subject.removeprefix(subjects.KPI_VALUE_PREFIX)
    if not kpi_id.isdigit() or int(kpi_id) < 1 or len(kpi_id) > 18:
        raise ValueError(
            "the subject must be kpi.values.<kpi id> or "
            f"{subjects.KPI_VALUE_BATCH}, not {msg.subject}"
        )
    body = KpiValueIn.model_validate_json(msg.data)
    observed = _aware(body.observed_at or stored_at)
    return [Incoming(int(kpi_id), body.value, observed, body.source, key, None, msg.data)]


class Ingestor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        js: JetStreamContext,
        max_clock_skew: timedelta,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.js = js
        self.max_clock_skew = max_clock_skew

    async def handle(self, batch: list[Delivery[list[Incoming]]]) -> None:
        async with self.sessions.begin() as session:
            refused = await self.store(session, [(d.msg, d.event) for d in batch])
        for msg, value, reason in refused:
            await publish_dead_letter(
                self.js, msg, reason, consumer=CONSUMER, payload=value.payload, part=value.part
            )

    async def store(
        self, session: AsyncSession, messages: Sequence[tuple[Msg, list[Incoming]]]
    ) -> list[tuple[Msg, Incoming, str]]:
        """Store the values of these messages; the ones refused, with their reasons."""
        kpi_ids = {v.kpi_id for _, values in messages for v in values}
        kpis = {k.id: k for k in await repository.lock_kpis(session, kpi_ids)}
        horizon = datetime.now(UTC) + self.max_clock_skew
        new, refused = repository.NewValues(), []
        for msg, value in ((m, v) for m, values in messages for v in values):
            reason = self._refusal(kpis.get(value.kpi_id), value, horizon)
            if reason:
                refused.append((msg, value, reason))
                continue
            new.kpi_ids.append(value.kpi_id)
            new.values.append(value.value)
            new.observed.append(value.observed_at)
            new.sources.append(value.source)
            new.keys.append(value.key)
        newest = await repository.insert_values(session, new)
        await self.outbox.add(
            session, subjects.KPI_PROGRESS_CHANGED, await _advance(session, kpis, newest)
        )
        return refused

    def _refusal(self, kpi: Kpi | None, value: Incoming, horizon: datetime) -> str | None:
        if kpi is None:
            return f"unknown KPI {value.kpi_id}"
        if kpi.status == KpiStatus.ARCHIVED.value:
            return f"KPI {value.kpi_id} is archived"
        if value.observed_at > horizon:
            return (
                f"observed_at {value.observed_at.isoformat()} is more than "
                f"{self.max_clock_skew.total_seconds():.0f} s in the future"
            )
        return None


async def _advance(
    session: AsyncSession, kpis: dict[int, Kpi], newest: Sequence[Any]
) -> list[KpiProgressChanged]:
    """Move each KPI to its newest stored value, if that is newer than its current one; an older
    value stays in the history without moving the KPI back. One statement for all of them."""
    changes = []
    for kpi_id, value, observed_at in newest:
        kpi = kpis[kpi_id]
        if kpi.current_observed_at is not None and observed_at <= kpi.current_observed_at:
            continue
        progress = kpi_progress(
            Direction(kpi.direction), kpi.baseline_value, kpi.target_value, value
        )
        changes.append(
            {"kid": kpi_id, "cv": value, "co": observed_at, "pp": progress, "nv": kpi.version + 1}
        )
    if not changes:
        return []
    statement = (
        update(KPIS)
        .where(KPIS.c.id == bindparam("kid"))
        .values(
            current_value=bindparam("cv"),
            current_observed_at=bindparam("co"),
            progress_percentage=bindparam("pp"),
            version=bindparam("nv"),
            updated_at=func.now(),
        )
    )
    await (await session.connection()).execute(statement, changes)
    return [
        KpiProgressChanged(
            kpi_id=c["kid"],
            progress=c["pp"],
            value=c["cv"],
            observed_at=c["co"],
            active=True,
            version=c["nv"],
        )
        for c in changes
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
