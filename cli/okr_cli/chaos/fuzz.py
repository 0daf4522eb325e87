"""Malformed and hostile messages, as a broken or malicious HR system might publish them. Each
must end in the dead-letter stream with its reason; none may stop a service. The one kind that
carries valid values too (a batch mixing known and unknown KPIs) must have those stored."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from okr_cli.chaos.workload import Message, Value
from okr_shared import subjects

UNKNOWN_KPI = 10**15


def messages(count: int, kpi_ids: list[int], seed: int) -> tuple[list[Message], dict[str, Value]]:
    """`count` bad messages, and the valid values some of them carry (by key)."""
    rng = random.Random(seed)
    valid: dict[str, Value] = {}
    found = []
    for n in range(count):
        make = KINDS[n % len(KINDS)]
        subject, data, carried = make(rng, rng.choice(kpi_ids), f"fuzz-{n}")
        valid.update({v.key: v for v in carried})
        found.append(Message(f"fuzz-{n}", subject, data, tuple(v.key for v in carried)))
    return found, valid


Made = tuple[str, bytes, list[Value]]


def _on(kpi: int, body: object) -> Made:
    return subjects.kpi_value_subject(kpi), json.dumps(body).encode(), []


def truncated(rng: random.Random, kpi: int, _: str) -> Made:
    body = json.dumps({"value": rng.uniform(0, 100), "source": "hr"}).encode()
    return subjects.kpi_value_subject(kpi), body[: rng.randint(1, len(body) - 1)], []


def wrong_type(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": rng.choice(["abc", [1], {"a": 1}, None, "", "1,5"])})


def not_a_number(rng: random.Random, kpi: int, _: str) -> Made:
    literal = rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
    return subjects.kpi_value_subject(kpi), f'{{"value": {literal}}}'.encode(), []


def huge_number(rng: random.Random, kpi: int, _: str) -> Made:
    return subjects.kpi_value_subject(kpi), f'{{"value": {"9" * 400}}}'.encode(), []


def unknown_kpi(rng: random.Random, _: int, __: str) -> Made:
    return _on(UNKNOWN_KPI + rng.randint(0, 10**6), {"value": 1.0})


def huge_payload(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": 1.0, "source": "x" * 300_000})


def not_json(rng: random.Random, kpi: int, _: str) -> Made:
    return subjects.kpi_value_subject(kpi), rng.randbytes(rng.randint(1, 64)) + b"\xff", []


def empty(rng: random.Random, kpi: int, _: str) -> Made:
    return subjects.kpi_value_subject(kpi), b"", []


def wrong_shape(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, rng.choice([[], "value", 42, None, {}, {"values": 1}]))


def extra_field(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": 1.0, "kpi_id": kpi, "is_admin": True})


def bad_subject(rng: random.Random, kpi: int, _: str) -> Made:
    # One token, as the `hr` user may publish: a longer subject (`kpi.values.<id>.extra`) is
    # refused by NATS itself and never reaches ingest (tests/integration/test_nats_isolation.py).
    tail = rng.choice(["abc", "0", "-1", "9" * 30, "1e3"])
    return f"{subjects.KPI_VALUE_PREFIX}{tail}", b'{"value": 1.0}', []


def from_the_future(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": 1.0, "observed_at": "2999-01-01T00:00:00Z"})


def bad_time(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": 1.0, "observed_at": rng.choice(["yesterday", "2026-13-45", 5])})


def nul_byte(rng: random.Random, kpi: int, _: str) -> Made:
    return _on(kpi, {"value": 1.0, "source": "hr\u0000system"})


def deep_nesting(rng: random.Random, kpi: int, _: str) -> Made:
    return subjects.kpi_value_subject(kpi), b'{"value": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", []


def bad_batch(rng: random.Random, kpi: int, _: str) -> Made:
    body = rng.choice(
        [
            {"values": []},
            {"values": "all"},
            {"values": [{"kpi_id": 0, "value": 1.0}]},
            {"values": [{"kpi_id": kpi, "value": "x"}]},
            {"values": [{"kpi_id": kpi, "value": 1.0}] * 5001},
        ]
    )
    return subjects.KPI_VALUE_BATCH, json.dumps(body).encode(), []


def mixed_batch(rng: random.Random, kpi: int, msg_id: str) -> Made:
    """Two valid values around an unknown KPI: the valid ones are stored, the other refused."""
    at = datetime.now(UTC) - timedelta(hours=2)  # older than the stream's: they never lead
    carried = [
        Value(f"{msg_id}-ok-{i}", kpi, round(rng.uniform(0, 100), 3), at + timedelta(seconds=i))
        for i in range(2)
    ]
    items = [
        {
            "kpi_id": v.kpi_id,
            "value": v.value,
            "observed_at": v.observed_at.isoformat(),
            "idempotency_key": v.key,
        }
        for v in carried
    ]
    items.insert(1, {"kpi_id": UNKNOWN_KPI, "value": 1.0, "idempotency_key": f"{msg_id}-bad"})
    return subjects.KPI_VALUE_BATCH, json.dumps({"values": items}).encode(), carried


Kind = Callable[[random.Random, int, str], Made]
COMMON: list[Kind] = [
    truncated,
    wrong_type,
    not_a_number,
    huge_number,
    unknown_kpi,
    not_json,
    empty,
    wrong_shape,
    extra_field,
    bad_subject,
    from_the_future,
    bad_time,
    nul_byte,
    bad_batch,
    mixed_batch,
    truncated,
    wrong_type,
    not_json,
    unknown_kpi,
    deep_nesting,
]
KINDS: list[Kind] = [*COMMON * 5, huge_payload]  # one in 101 is a 300 KB message
