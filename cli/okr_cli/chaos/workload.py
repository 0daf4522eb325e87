"""What a chaos scenario sends: a known stream of KPI values as an HR system would publish it,
with duplicates and out-of-order deliveries mixed in, and the publisher that keeps retrying a
message until JetStream acknowledges it (what a careful HR system does)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from okr_shared import subjects

BATCH_SIZE = 20


@dataclass(frozen=True)
class Value:
    key: str  # the idempotency key: stored at most once per KPI
    kpi_id: int
    value: float
    observed_at: datetime


@dataclass(frozen=True)
class Message:
    msg_id: str
    subject: str
    data: bytes
    keys: tuple[str, ...] = ()  # the valid values it carries


@dataclass
class Stream:
    """The messages in publishing order, and the values they carry."""

    values: dict[str, Value] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)

    def latest(self, accepted: set[str]) -> dict[int, float]:
        """Each KPI's value with the newest observed_at among the accepted ones."""
        newest: dict[int, Value] = {}
        for key in accepted:
            value = self.values[key]
            held = newest.get(value.kpi_id)
            if held is None or value.observed_at > held.observed_at:
                newest[value.kpi_id] = value
        return {kpi: v.value for kpi, v in newest.items()}


def single(value: Value, msg_id: str | None = None) -> Message:
    body = {"value": value.value, "observed_at": value.observed_at.isoformat()}
    return Message(
        msg_id or value.key,
        subjects.kpi_value_subject(value.kpi_id),
        json.dumps(body).encode(),
        (value.key,),
    )


def batch(values: list[Value], msg_id: str) -> Message:
    items = [
        {
            "kpi_id": v.kpi_id,
            "value": v.value,
            "observed_at": v.observed_at.isoformat(),
            "idempotency_key": v.key,
        }
        for v in values
    ]
    return Message(
        msg_id,
        subjects.KPI_VALUE_BATCH,
        json.dumps({"values": items}).encode(),
        tuple(v.key for v in values),
    )


def value_stream(kpi_ids: list[int], count: int, seed: int) -> Stream:
    """`count` values over the KPIs, each observed at its own millisecond within the last hour.

    Most go one per message; a fifth in batch messages. Out of order: the messages are shuffled
    within windows of 50 and a twentieth are held back to the very end. Duplicates: a tenth are
    sent again, half as the same message (JetStream drops it) and half inside a batch message of
    another id (the KPIs service must recognise the key).
    """
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    stream = Stream()
    for n in range(count):
        value = Value(
            f"chaos-{seed}-{n}",
            rng.choice(kpi_ids),
            round(rng.uniform(0, 100), 3),
            start + timedelta(milliseconds=n),
        )
        stream.values[value.key] = value
    values = list(stream.values.values())
    batched = set(rng.sample(range(count), count // 5))
    messages = [single(v) for n, v in enumerate(values) if n not in batched]
    in_batches = [values[n] for n in sorted(batched)]
    messages += [
        batch(in_batches[i : i + BATCH_SIZE], f"chaos-{seed}-batch-{i}")
        for i in range(0, len(in_batches), BATCH_SIZE)
    ]
    again = rng.sample(values, count // 10)
    messages += [single(v) for v in again[: len(again) // 2]]
    resent = again[len(again) // 2 :]
    messages += [
        batch(resent[i : i + BATCH_SIZE], f"chaos-{seed}-again-{i}")
        for i in range(0, len(resent), BATCH_SIZE)
    ]
    rng.shuffle(messages)
    held_back = {n for n in range(len(messages)) if rng.random() < 0.05}
    late = [m for n, m in enumerate(messages) if n in held_back]
    kept = [m for n, m in enumerate(messages) if n not in held_back]
    for i in range(0, len(kept), 50):
        window = kept[i : i + 50]
        rng.shuffle(window)
        kept[i : i + 50] = window
    stream.messages = kept + late
    return stream


@dataclass
class Publisher:
    """Publish at a steady rate; retry each message until acknowledged or `give_up_s` passes."""

    js: JetStreamContext
    rate_per_s: float
    give_up_s: float = 120.0
    acked: set[str] = field(default_factory=set)  # message ids
    unacked: set[str] = field(default_factory=set)

    async def publish_all(self, messages: Iterable[Message]) -> None:
        tasks = []
        started = time.monotonic()
        for n, message in enumerate(messages):
            tasks.append(asyncio.create_task(self.publish(message)))
            await asyncio.sleep(max(0.0, started + n / self.rate_per_s - time.monotonic()))
        await asyncio.gather(*tasks)

    async def publish(self, message: Message) -> None:
        deadline = time.monotonic() + self.give_up_s
        pause = 0.05
        while True:
            try:
                headers = {"Nats-Msg-Id": message.msg_id}
                await self.js.publish(message.subject, message.data, headers=headers, timeout=2)
            except Exception:  # NATS away or busy: an HR system tries again
                if time.monotonic() > deadline:
                    self.unacked.add(message.msg_id)
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            self.acked.add(message.msg_id)
            return

    def accepted_keys(self, messages: Iterable[Message]) -> set[str]:
        return {key for m in messages if m.msg_id in self.acked for key in m.keys}
