"""After a scenario: wait until the system is quiet, then check what it must guarantee.

- every accepted value stored exactly once (by idempotency key);
- every committed objective announced exactly once (one objective.created in the stream);
- nothing valid in a dead-letter stream;
- every KPI's current value is its newest accepted one, whatever order they arrived in;
- every objective's progress, in the progress service and as the objectives service shows it,
  equals a recompute from scratch by the rollup rules (README, "Rollup rules").
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

from okr_cli.probe import consumers_caught_up
from okr_shared import subjects

OUTBOXES = ("objectives.outbox", "kpis.outbox", "progress.outbox")
TOLERANCE = 1e-9
T = TypeVar("T")


@dataclass
class Verdict:
    scenario: str
    values_sent: int = 0
    accepted: int = 0
    stored: int = 0
    duplicates: int = 0
    lost: int = 0
    valid_dead_lettered: int = 0
    rollup_mismatches: int = 0
    recovery_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (
            self.duplicates or self.lost or self.valid_dead_lettered or self.rollup_mismatches
        ) and not any(note.startswith("FAILED") for note in self.notes)


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
            for table in OUTBOXES:
                unsent = await db.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")  # noqa: S608
                )
                if unsent:
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
    sent: set[str],
    accepted: set[str],
    latest: dict[int, float],
    expected_letters: set[str] = frozenset(),  # type: ignore[assignment]
) -> Verdict:
    """Fill in the verdict; `latest` is each KPI's newest accepted value (its progress, as the
    chaos KPIs run from 0 to 100); `expected_letters` the message ids that had to be refused."""
    verdict.values_sent, verdict.accepted = len(sent), len(accepted)
    async with engine.connect() as db:
        rows = Counter(
            r.idempotency_key
            for r in await db.execute(text("SELECT idempotency_key FROM kpis.kpi_values"))
        )
        current = {
            r.id: r.current_value
            for r in await db.execute(text("SELECT id, current_value FROM kpis.kpis"))
        }
        tree = await _tree(db)
    verdict.stored = len(accepted & rows.keys())
    verdict.duplicates = sum(n - 1 for n in rows.values())
    verdict.lost = len(accepted - rows.keys())
    await _announcements(verdict, js, {o["id"] for o in tree["objectives"]})
    letters = await dead_letters(js)
    verdict.valid_dead_lettered = sum(1 for x in letters if original_id(x) not in expected_letters)
    refused = {original_id(x) for x in letters}
    if missing := sorted(expected_letters - refused):
        verdict.notes.append(
            f"FAILED: {len(missing)} bad messages missing from dead letters, e.g. {missing[:5]}"
        )
    if any(not (x.headers or {}).get("Okr-Dlq-Reason") for x in letters):
        verdict.notes.append("FAILED: a dead letter without a reason")
    wrong_kpis = [k for k, v in latest.items() if current.get(k) is None or current[k] != v]
    wrong = _rollup_mismatches(tree, latest)
    verdict.rollup_mismatches = len(wrong_kpis) + len(wrong)
    if wrong_kpis:
        verdict.notes.append(f"KPIs not at their newest value, e.g. {wrong_kpis[:5]}")
    if wrong:
        verdict.notes.append(f"objectives (id, expected, rolled up, shown), e.g. {wrong[:5]}")
    return verdict


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


async def _announcements(verdict: Verdict, js: JetStreamContext, committed: set[int]) -> None:
    """One objective.created per committed objective: the outbox lost nothing, doubled nothing."""
    created = Counter(
        json.loads(m.data)["objective"]["id"]
        for m in await read_stream(js, subjects.OBJECTIVES.name)
        if m.subject == subjects.OBJECTIVE_CREATED
    )
    verdict.duplicates += sum(n - 1 for n in created.values())
    verdict.lost += len(committed - created.keys())


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
