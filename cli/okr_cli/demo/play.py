"""The HR system of the demo: KPI values drifting towards (or away from) their targets,
published on JetStream at a steady rate, and what it sees come back: the rollup updates on
`progress.objective.>`, with the time from each publish to the next update of an individual
objective that links the KPI (the first rollup the value causes).

Only a value that changes its KPI's progress is timed (a `maintain_*` KPI moves only when it
crosses its target; an `increase` one stops at 100 %): any other value changes no rollup, and
waiting for one would measure nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from okr_cli.demo.build import Built
from okr_shared import subjects
from okr_shared.contracts.kpis import Direction, KpiValueIn
from okr_shared.contracts.objectives import ObjectiveLevel
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.kpi_progress import kpi_progress

RATE_WINDOW_S = 5.0  # values/s is measured over this much recent time
GIVE_UP_S = 10.0  # a timed value with no rollup by then is counted as unanswered
PUBLISHES_IN_FLIGHT = 1000
LATENCY_WINDOW = 10_000  # the percentiles are of this many most recent latencies


@dataclass
class Feed:
    """One KPI as the HR system sees it: where its numbers stand and which objectives link it."""

    kpi_id: int
    direction: Direction
    baseline: float
    target: float
    objective: int  # an individual objective that links it: its update times the value
    position: float = 0.0  # share of the way to the target, or distance from it (maintain)
    value: float | None = None

    def step(self, rng: random.Random) -> float:
        """The next observation: mostly better, sometimes worse, as real numbers go."""
        if self.direction in (Direction.INCREASE, Direction.DECREASE):
            start = rng.uniform(0.05, 0.5) if self.value is None else self.position
            self.position = min(1.1, max(0.0, start + rng.gauss(0.02, 0.06)))
            self.value = round(self.baseline + self.position * (self.target - self.baseline), 2)
            return self.value
        scale = abs(self.target) * 0.1 or 1.0
        self.position = min(3.0, max(-2.0, self.position + rng.gauss(0.1, 0.6)))
        sign = 1 if self.direction is Direction.MAINTAIN_ABOVE else -1
        self.value = round(self.target + sign * self.position * scale, 2)
        return self.value

    def progress(self) -> float | None:
        return kpi_progress(self.direction, self.baseline, self.target, self.value)


@dataclass
class Board:
    """What the demo has seen: every objective's latest progress and the figures of the run."""

    objectives: set[int]
    progress: dict[int, tuple[int, float]] = field(default_factory=dict)  # id -> (version, %)
    sent: int = 0
    failed: int = 0
    rollups: int = 0
    unanswered: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    timed: int = 0  # every latency measured, also those the window has let go
    recent: deque[float] = field(default_factory=deque)  # when recent values were acknowledged
    waiting: dict[int, list[float]] = field(default_factory=dict)  # objective -> publish times
    started: float = field(default_factory=time.perf_counter)

    def percent(self, objective_id: int) -> float:
        return self.progress.get(objective_id, (0, 0.0))[1]

    def values_per_s(self) -> float:
        now = time.perf_counter()
        while self.recent and self.recent[0] < now - RATE_WINDOW_S:
            self.recent.popleft()
        return len(self.recent) / min(RATE_WINDOW_S, max(now - self.started, 1e-3))

    def latency_p50_p99_ms(self) -> tuple[float, float] | None:
        """Of the recent window, with one sort: the view asks for them every frame."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        last = len(ordered) - 1
        return ordered[min(last, len(ordered) // 2)], ordered[min(last, int(0.99 * len(ordered)))]

    def record_latency(self, ms: float) -> None:
        self.latencies_ms.append(ms)
        self.timed += 1

    async def on_update(self, msg: Msg) -> None:
        try:
            update = ObjectiveProgressUpdated.model_validate_json(msg.data)
        except ValidationError:
            return  # not ours to judge; the view shows what it understands
        if update.objective_id not in self.objectives:
            return
        self.rollups += 1
        held = self.progress.get(update.objective_id)
        if held is None or held[0] < update.version:
            self.progress[update.objective_id] = (update.version, update.progress_percentage)
        now = time.perf_counter()
        for sent_at in self.waiting.pop(update.objective_id, []):
            self.record_latency((now - sent_at) * 1000)

    def expect(self, objective: int, sent_at: float) -> None:
        self.waiting.setdefault(objective, []).append(sent_at)

    def give_up(self, older_than_s: float) -> None:
        """Stop waiting for rollups of values sent longer ago than that."""
        cutoff = time.perf_counter() - older_than_s
        for objective, times in list(self.waiting.items()):
            kept = [t for t in times if t >= cutoff]
            self.unanswered += len(times) - len(kept)
            if kept:
                self.waiting[objective] = kept
            else:
                del self.waiting[objective]


@dataclass
class Player:
    js: JetStreamContext  # as the HR user: it may only publish KPI values
    feeds: list[Feed]
    board: Board
    rate: float
    run_id: str
    rng: random.Random = field(default_factory=random.Random)
    limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PUBLISHES_IN_FLIGHT))

    async def play(self, keep_going: Callable[[], bool]) -> None:
        """Publish at `rate` values/s while `keep_going()`; the caller cancels or stops it."""
        tasks: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        n = 0
        while keep_going():
            feed = self.rng.choice(self.feeds)
            task = asyncio.create_task(self._publish(feed, n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            if n % 100 == 0:
                self.board.give_up(GIVE_UP_S)
            await asyncio.sleep(max(0.0, started + n / self.rate - time.perf_counter()))
        if tasks:
            await asyncio.wait(tasks)

    async def _publish(self, feed: Feed, n: int) -> None:
        before = feed.progress()
        body = KpiValueIn(value=feed.step(self.rng), source="okr demo")
        async with self.limit:
            sent_at = time.perf_counter()
            if feed.progress() != before:
                self.board.expect(feed.objective, sent_at)
            try:
                await self.js.publish(
                    subjects.kpi_value_subject(feed.kpi_id),
                    body.model_dump_json(exclude_none=True).encode(),
                    headers={"Nats-Msg-Id": f"demo-{self.run_id}-{n}"},
                    timeout=5,
                )
            except Exception:  # NATS busy or away: counted and shown, the demo goes on
                self.board.failed += 1
                return
        self.board.sent += 1
        self.board.recent.append(time.perf_counter())

    async def settle(self, timeout_s: float) -> None:
        """Wait briefly for the rollups of the last values, then stop waiting for them."""
        deadline = time.perf_counter() + timeout_s
        # The board empties as updates arrive: a short poll, not an event per objective.
        while self.board.waiting and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self.board.give_up(0.0)


def feeds(built: Built) -> list[Feed]:
    """Each KPI with the first individual objective that links it (every KPI has one)."""
    linked: dict[int, int] = {}
    for goal in built.company.of_level(ObjectiveLevel.INDIVIDUAL):
        for kpi_key, _ in goal.links:
            linked.setdefault(kpi_key, built.objectives[goal.key])
    return [
        Feed(built.kpis[k.key], k.direction, k.baseline, k.target, linked[k.key])
        for k in built.company.kpis
        if k.key in linked
    ]


def summary(built: Built, board: Board, elapsed_s: float) -> str:
    latencies = board.latency_p50_p99_ms()
    window = len(board.latencies_ms)
    of_window = f", percentiles of the last {window:,}" if window < board.timed else ""
    latency = (
        "no rollup timed"
        if latencies is None
        else f"p50 {latencies[0]:.0f} ms, p99 {latencies[1]:.0f} ms "
        f"({board.timed:,} values timed{of_window})"
    )
    return (
        f"demo summary: {built.company.name}: {len(built.objectives):,} objectives, "
        f"{len(built.kpis):,} KPIs; {board.sent:,} values sent ({board.failed} failed) in "
        f"{elapsed_s:.1f} s ({board.sent / max(elapsed_s, 1e-3):.1f} values/s); "
        f"{board.rollups:,} rollups seen; latency publish→rollup {latency}"
        + (f"; {board.unanswered} timed values saw no rollup" if board.unanswered else "")
    )
