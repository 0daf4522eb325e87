"""After a scenario: wait until the system is quiet, then check what it must guarantee.

- every value the scenario meant to send acknowledged by JetStream (the publisher retries for
  120 s; a message it gave up on fails the scenario), and more than none;
- every accepted value stored exactly once (by idempotency key), as it was sent (KPI, value,
  observed_at);
- every committed objective announced exactly once (one objective.created in the stream);
- nothing valid in a dead-letter stream, and every message meant to be refused there, with a
  reason;
- every KPI's current value is its newest accepted one, whatever order they arrived in;
- every objective's progress, in the progress service and as the objectives service shows it,
  equals a recompute from scratch by the rollup rules (README, "Rollup rules").

The counting is done by plain functions over what was read (`count_values`,
`count_announcements`, `count_letters`), so that tests/unit/test_chaos_verdict.py can hold the
judge to each rule without a system.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_cli.chaos.workload import Value
from okr_cli.probe import consumers_caught_up, outboxes_sent
from okr_shared import subjects

TOLERANCE = 1e-9
T = TypeVar("T")


@dataclass
class Verdict:
    scenario: str
    values_sent: int = 0  # the stream's values and the recovery probe's, acknowledged or not
    owed: int = 0  # the values that had to be acknowledged (see `judge`)
    accepted: int = 0  # the values JetStream acknowledged
    stored: int = 0
    duplicates: int = 0
    lost: int = 0
    wrong_values: int = 0  # stored rows unlike the value sent with their key, or never sent
    valid_dead_lettered: int = 0
    rollup_mismatches: int = 0
    unacknowledged: int = 0  # messages the publisher gave up on
    requests: int | None = None  # what a scenario that sends requests, not values, sent
    webhooks_owed: int | None = None  # events an endpoint subscribed to (distinct webhook-ids)
    webhooks_delivered: int | None = None  # of them, received with a valid signature and a 2xx
    recovery_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def broken_rules(self) -> list[str]:
        """Why the scenario fails, besides its notes that start with FAILED."""
        broken = [
            f"{count:,} {what}"
            for count, what in (
                (self.duplicates, "duplicates stored"),
                (self.lost, "accepted values or announcements lost"),
                (self.wrong_values, "stored values unlike the ones sent"),
                (self.valid_dead_lettered, "valid messages dead-lettered"),
                (self.rollup_mismatches, "rollup mismatches"),
                (self.unacknowledged, "messages never acknowledged (the publisher gave up)"),
            )
            if count
        ]
        if self.requests is not None:
            if self.requests <= 0:
                broken.append("no request was sent")
            return broken
        if self.accepted <= 0:
            broken.append("no value was accepted")
        elif self.accepted != self.owed:
            broken.append(f"{self.accepted:,} values accepted of {self.owed:,} owed")
        return broken

    @property
    def passed(self) -> bool:
        return not self.broken_rules() and not any(n.startswith("FAILED") for n in self.notes)


async def quiet(js: JetStreamContext, engine: AsyncEngine, timeout_s: float) -> None:
    """Every consumer caught up and every outbox sent, twice in a row a moment apart.

    Messages a killed process held come back only after the consumer's ack_wait (10 s)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    calm = 0
    while asyncio.get_running_loop().time() < deadline:
        calm = calm + 1 if await _caught_up(js, engine) else 0
        if calm >= 2:
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"the system did not settle within {timeout_s:.0f} s")


async def _caught_up(js: JetStreamContext, engine: AsyncEngine) -> bool:
    try:
        if not await consumers_caught_up(js):
            return False
        async with engine.connect() as db:
            if not await outboxes_sent(db):
                return False
    except Exception:  # a server still coming back: not settled yet
        return False
    return True


async def read_stream(js: JetStreamContext, stream: str) -> list[Any]:
    """Every message a stream holds, in order (small streams: one request each)."""
    try:
        info = await _patiently(lambda: js.stream_info(stream))
    except NotFoundError:
        return []
    if not info.state.messages:
        return []
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            found.append(await _patiently(lambda s=seq: js.get_msg(stream, s)))  # type: ignore[misc]
        except NotFoundError:
            continue
    return found


async def _patiently(request: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """A cluster that has just lost a node may time out a request or two."""
    for attempt in range(attempts):
        try:
            return await request()
        except (TimeoutError, nats.errors.TimeoutError, ServiceUnavailableError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def dead_letters(js: JetStreamContext) -> list[Any]:
    letters = []
    for stream in subjects.STREAMS:
        if stream.dead_letters:
            letters += await read_stream(js, stream.dlq_name)
    return letters


def original_id(letter: Any) -> str:
    """The message id a dead letter came from, without the `:part` of a batch item."""
    return str((letter.headers or {}).get("Okr-Original-Msg-Id", "")).split(":")[0]


async def judge(
    verdict: Verdict,
    js: JetStreamContext,
    engine: AsyncEngine,
    *,
    sent: dict[str, Value],
    owed: set[str],
    accepted: set[str],
    latest: dict[int, float],
    expected_letters: set[str] = frozenset(),  # type: ignore[assignment]
) -> Verdict:
    """Fill in the verdict. `sent` is every value published, by key; `owed` the keys that had to
    be acknowledged (all the stream's, and the probe's that were); `accepted` the keys that were;
    `latest` each KPI's newest accepted value (its progress, as the chaos KPIs run from 0 to
    100); `expected_letters` the message ids that had to be refused."""
    async with engine.connect() as db:
        stored = [
            Value(r.idempotency_key, r.kpi_id, r.value, r.observed_at)
            for r in await db.execute(
                text("SELECT idempotency_key, kpi_id, value, observed_at FROM kpis.kpi_values")
            )
        ]
        current = {
            r.id: r.current_value
            for r in await db.execute(text("SELECT id, current_value FROM kpis.kpis"))
        }
        tree = await _tree(db)
    count_values(verdict, sent, owed, accepted, stored)
    created = [
        json.loads(m.data)["objective"]["id"]
        for m in await read_stream(js, subjects.OBJECTIVES.name)
        if m.subject == subjects.OBJECTIVE_CREATED
    ]
    count_announcements(verdict, created, {o["id"] for o in tree["objectives"]})
    letters = [
        (original_id(x), str((x.headers or {}).get("Okr-Dlq-Reason", "")))
        for x in await dead_letters(js)
    ]
    count_letters(verdict, letters, expected_letters)
    wrong_kpis = [k for k, v in latest.items() if current.get(k) is None or current[k] != v]
    wrong = _rollup_mismatches(tree, latest)
    verdict.rollup_mismatches = len(wrong_kpis) + len(wrong)
    if wrong_kpis:
        verdict.notes.append(f"KPIs not at their newest value, e.g. {wrong_kpis[:5]}")
    if wrong:
        verdict.notes.append(f"objectives (id, expected, rolled up, shown), e.g. {wrong[:5]}")
    return verdict


def count_values(
    verdict: Verdict,
    sent: dict[str, Value],
    owed: set[str],
    accepted: set[str],
    stored: list[Value],
) -> None:
    """Stored, lost, doubled and altered values: `stored` is every row of kpis.kpi_values."""
    verdict.values_sent, verdict.owed, verdict.accepted = len(sent), len(owed), len(accepted)
    rows = Counter(v.key for v in stored)
    verdict.stored = len(accepted & rows.keys())
    verdict.duplicates += sum(n - 1 for n in rows.values())
    verdict.lost += len(accepted - rows.keys())
    altered = [v for v in stored if sent.get(v.key) != v]  # KPI, value and observed_at alike
    verdict.wrong_values += len(altered)
    if altered:
        shown = [(v.key, v.kpi_id, v.value, v.observed_at.isoformat()) for v in altered[:3]]
        verdict.notes.append(f"stored values unlike the ones sent, e.g. {shown}")


def count_announcements(verdict: Verdict, created: list[int], committed: set[int]) -> None:
    """One objective.created per committed objective: the outbox lost nothing, doubled nothing.
    `created` is the objective id of every objective.created in the stream."""
    announced = Counter(created)
    verdict.duplicates += sum(n - 1 for n in announced.values())
    verdict.lost += len(committed - announced.keys())


def count_letters(verdict: Verdict, letters: list[tuple[str, str]], expected: set[str]) -> None:
    """`letters` are (the message id it came from, its reason) for every dead letter;
    `expected` the ids of the messages that had to be refused."""
    verdict.valid_dead_lettered += sum(1 for origin, _ in letters if origin not in expected)
    if missing := sorted(expected - {origin for origin, _ in letters}):
        verdict.notes.append(
            f"FAILED: {len(missing)} bad messages missing from dead letters, e.g. {missing[:5]}"
        )
    if any(not reason for _, reason in letters):
        verdict.notes.append("FAILED: a dead letter without a reason")


async def _tree(db: Any) -> dict[str, list[dict[str, Any]]]:
    objectives = await db.execute(
        text(
            "SELECT o.id, o.parent_id, o.status, o.manual_progress, o.deleted_at IS NOT NULL"
            " AS deleted, o.progress_percentage AS shown, p.progress AS rolled"
            " FROM objectives.objectives o LEFT JOIN progress.objectives p ON p.id = o.id"
        )
    )
    links = await db.execute(
        text(
            "SELECT objective_id, kpi_id, weight FROM objectives.objective_kpis"
            " WHERE deleted_at IS NULL"
        )
    )
    return {
        "objectives": [dict(r._mapping) for r in objectives],
        "links": [dict(r._mapping) for r in links],
    }


def _rollup_mismatches(
    tree: dict[str, list[dict[str, Any]]], latest: dict[int, float]
) -> list[tuple[int, float, float | None, float | None]]:
    """Recompute every objective from scratch; those stored or shown differently."""
    live = {
        o["id"]: o for o in tree["objectives"] if not o["deleted"] and o["status"] != "abandoned"
    }
    children: dict[int, list[int]] = {}
    for o in live.values():
        if o["parent_id"] in live:
            children.setdefault(o["parent_id"], []).append(o["id"])
    weights: dict[int, list[tuple[float, float]]] = {}
    for link in tree["links"]:
        if link["kpi_id"] in latest:
            weights.setdefault(link["objective_id"], []).append(
                (link["weight"], latest[link["kpi_id"]])
            )
    memo: dict[int, float] = {}

    def expected(oid: int) -> float:
        if oid not in memo:
            kids = children.get(oid)
            pairs = weights.get(oid)
            if kids:
                value = sum(expected(k) for k in kids) / len(kids)
            elif pairs and sum(w for w, _ in pairs) > 0:
                value = sum(w * p for w, p in pairs) / sum(w for w, _ in pairs)
            else:
                value = live[oid]["manual_progress"]
            memo[oid] = min(100.0, max(0.0, value))
        return memo[oid]

    wrong = []
    for oid, o in live.items():
        want = expected(oid)
        if any(got is None or abs(got - want) > TOLERANCE for got in (o["rolled"], o["shown"])):
            wrong.append((oid, want, o["rolled"], o["shown"]))
    return wrong
