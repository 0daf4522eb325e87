"""Ingestion: KPI values from HR systems, in batches, each stored once.

A pulled batch is one transaction: lock the KPIs it names (in id order), refuse what cannot be
stored (unknown or archived KPI, a timestamp too far in the future), insert the rest with one
statement that skips repeated idempotency keys, move each KPI's current value only when a value
is newer than the current one, and put one kpi.progress_changed per changed KPI in the outbox.
Refused values go to KPI_VALUES_DLQ with their reason; the batch is acknowledged after that.

Who sent a value is read from its subject (okr_shared.subjects.parse_value_subject), never from
its payload: NATS lets each sender publish only on its own subjects. The payload's `source` is
stored beside it as a label. Each batch adds to its senders' counts (values sent, refused, when
last published) with one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_kpis import repository
from okr_kpis.models import Kpi
from okr_shared import channels, subjects
from okr_shared.consumer import Delivery, publish_dead_letter
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.kpis import Direction, KpiBatchIn, KpiBatchItem, KpiStatus, KpiValueIn
from okr_shared.kpi_progress import kpi_progress
from okr_shared.outbox import Outbox

CONSUMER = "kpis-ingest"

CHANNELS = channels.KPI_VALUES  # what `decode` accepts


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, 100,000 a second
class Incoming:
    kpi_id: int
    value: float
    observed_at: datetime
    label: str | None  # the `source` the payload gave: shown, never trusted
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


@dataclass(slots=True)
class Received:
    """One message: who sent it, when the stream stored it, and its values, or why none can be
    read (counted as one value refused)."""

    sender: str
    stored_at: datetime
    values: list[Incoming]
    invalid: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    msg: Msg
    reason: str
    payload: bytes
    part: int | None = None


MAX_KEY_LENGTH = 200  # as IdempotencyKey; the column has room for a batch item's ":<index>"


def decode(msg: Msg) -> Received:
    """The values one message carries. Without a Nats-Msg-Id the stream sequence is the key, so
    a redelivery is still recognised; without observed_at, the time the stream stored it. A
    subject that names no sender is refused by the consumer (ValueError)."""
    sender, target = subjects.parse_value_subject(msg.subject)
    meta = msg.metadata
    stored_at = _aware(meta.timestamp) if meta.timestamp else datetime.now(UTC)
    try:
        values = _values(msg, target, stored_at)
    except (ValidationError, ValueError) as err:
        return Received(sender, stored_at, [], f"invalid payload: {_one_line(err)}")
    return Received(sender, stored_at, values)


def _values(msg: Msg, target: str, stored_at: datetime) -> list[Incoming]:
    headers = msg.headers or {}
    key = (
        headers.get(subjects.VALUE_KEY_HEADER)
        or headers.get("Nats-Msg-Id")
        or f"seq:{msg.metadata.sequence.stream}"
    )
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"the idempotency key (Nats-Msg-Id) is longer than {MAX_KEY_LENGTH}")
    if target == "batch":
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
    if not target.isdigit() or int(target) < 1 or len(target) > 18:
        raise ValueError(
            "the subject must be kpi.values.<kpi id> or kpi.values.batch (under an "
            f"integration's prefix, <prefix>.<kpi id> or <prefix>.batch), not {msg.subject}"
        )
    body = KpiValueIn.model_validate_json(msg.data)
    observed = _aware(body.observed_at or stored_at)
    return [Incoming(int(target), body.value, observed, body.source, key, None, msg.data)]


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

    async def handle(self, batch: list[Delivery[Received]]) -> None:
        async with self.sessions.begin() as session:
            refused = await self.store(session, [(d.msg, d.event) for d in batch])
        for r in refused:
            await publish_dead_letter(
                self.js, r.msg, r.reason, consumer=CONSUMER, payload=r.payload, part=r.part
            )

    async def store(
        self, session: AsyncSession, messages: Sequence[tuple[Msg, Received]]
    ) -> list[Refused]:
        """Store the values of these messages; the ones refused, with their reasons."""
        kpi_ids = {v.kpi_id for _, received in messages for v in received.values}
        kpis = {k.id: k for k in await repository.lock_kpis(session, kpi_ids)}
        horizon = datetime.now(UTC) + self.max_clock_skew
        new, refused = repository.NewValues(), []
        counts: dict[str, repository.SourceCounts] = {}
        for msg, received in messages:
            tally = counts.setdefault(received.sender, repository.SourceCounts())
            tally.sent += len(received.values) or 1
            tally.last_published_at = _latest(tally.last_published_at, received.stored_at)
            if received.invalid:
                refused.append(Refused(msg, received.invalid, msg.data))
                _refused(tally, received)
            for value in received.values:
                reason = self._refusal(kpis.get(value.kpi_id), value, horizon)
                if reason:
                    refused.append(Refused(msg, reason, value.payload, value.part))
                    _refused(tally, received)
                    continue
                new.kpi_ids.append(value.kpi_id)
                new.values.append(value.value)
                new.observed.append(value.observed_at)
                new.sources.append(received.sender)
                new.labels.append(value.label)
                new.keys.append(value.key)
        newest = await repository.insert_values(session, new)
        await self.outbox.add(
            session, subjects.KPI_PROGRESS_CHANGED, await _advance(session, kpis, newest)
        )
        # Last: the senders' rows are the locks replicas share most, held for the least time.
        await repository.count_sources(session, counts)
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
    session: AsyncSession, kpis: dict[int, Kpi], newest: Sequence[repository.NewestValue]
) -> list[KpiProgressChanged]:
    """Move each KPI to its newest stored value, if that is newer than its current one; an older
    value stays in the history without moving the KPI back. One statement for all of them."""
    moves = []
    for kpi_id, value, observed_at in newest:
        kpi = kpis[kpi_id]
        if kpi.current_observed_at is not None and observed_at <= kpi.current_observed_at:
            continue
        progress = kpi_progress(
            Direction(kpi.direction), kpi.baseline_value, kpi.target_value, value
        )
        moves.append(repository.KpiMove(kpi_id, value, observed_at, progress, kpi.version + 1))
    await repository.move_kpis(session, moves)
    return [
        KpiProgressChanged(
            kpi_id=m.kpi_id,
            progress=m.progress,
            value=m.value,
            observed_at=m.observed_at,
            active=True,
            version=m.version,
        )
        for m in moves
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _latest(known: datetime | None, moment: datetime) -> datetime:
    return moment if known is None or moment > known else known


def _refused(tally: repository.SourceCounts, received: Received) -> None:
    tally.refused += 1
    tally.last_refused_at = _latest(tally.last_refused_at, received.stored_at)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:900] or type(err).__name__
