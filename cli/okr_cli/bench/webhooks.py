"""Webhooks in the benchmark: deliveries per second to a receiver on loopback, and the time
from a KPI value to the webhook that carries its objective's new progress.

- **deliveries per second**: endpoints subscribed to `kpi.value_rejected`; the webhooks worker
  is paused (SIGSTOP) while values to unknown KPIs are refused, one event each, so a backlog
  waits in KPI_VALUES_DLQ; then it is resumed, and the figure is the deliveries owed (events
  times endpoints) over the time from resuming to the last one's arrival: fan-out, signing, POST
  and recording, as fast as one worker drains them.
- **latency**: values 1, 2, 3 … N to a KPI with target N, the only KPI of one person's objective;
  each value's time runs from its publishing to the arrival of the first webhook of that
  objective reflecting it or a later value (progress n / N x 100 names n). The endpoint receives
  every objective's progress changes, the team's and the company's too: four webhooks a value.
  Of that time, `webhook_stage_*` is the webhooks service's share: from each progress event's own
  timestamp to its webhook's arrival. Measured twice, with the share of the machine's CPU that
  was busy meanwhile: at STEADY_RATE (the target's figure: a value's own time through three
  services, the machine about half busy), then at LOADED_RATE, where the two cores are all but
  full and most of the time is the wait for a core (shown, no target).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext

from okr_cli.bench import cpu
from okr_cli.bench.rollup import percentile
from okr_cli.receiver import Received, Receiver
from okr_cli.supervisor import System
from okr_shared import subjects
from okr_shared.contracts.webhooks import WebhookEventType

ENDPOINTS = 5
STEADY_RATE = 25.0  # values a second: 100 webhooks a second
LOADED_RATE = 100.0  # 400 webhooks a second: on two cores, each process waits for a core
WINDOW = 200  # acknowledgements in flight while the backlog is made
SETTLE_S = 30.0
ALLOW = {"OKR_WEBHOOKS_ALLOW_PRIVATE": "1"}  # the receiver listens on loopback
UNKNOWN_KPI = 10**12  # values to these KPIs are refused: a kpi.value_rejected each


class WebhookBench:
    def __init__(self, bench: Any, system: System, receiver: Receiver) -> None:
        self.bench = bench  # run.Bench: its gateway, admin headers, chain of objectives
        self.system = system
        self.receiver = receiver

    async def subscribe(self, http: httpx.AsyncClient, path: str, event: str) -> None:
        body = {"url": self.receiver.url(path), "events": [event]}
        endpoint = await self.bench.post(http, "/api/v1/webhooks", body)
        self.receiver.secrets[path] = endpoint["secret"]

    async def throughput(self, values: int) -> dict[str, float]:
        paths = [f"/rate/{n}" for n in range(ENDPOINTS)]
        async with httpx.AsyncClient(base_url=self.bench.gateway, timeout=60) as http:
            for path in paths:
                await self.subscribe(http, path, WebhookEventType.KPI_VALUE_REJECTED)
        client = await nats.connect(self.bench.nats_url)
        js = client.jetstream()
        try:
            before = (await js.stream_info(subjects.KPI_VALUES.dlq_name)).state.last_seq
            workers = self._webhook_pids()
            for pid in workers:
                os.kill(pid, signal.SIGSTOP)
            try:
                await _publish_refused(js, values)
                await _until(lambda: _ingested(js), 120)
                after = (await js.stream_info(subjects.KPI_VALUES.dlq_name)).state.last_seq
            finally:
                for pid in workers:
                    os.kill(pid, signal.SIGCONT)
            resumed = time.perf_counter()
        finally:
            await client.close()
        owed = (after - before) * ENDPOINTS

        async def all_arrived() -> bool:
            return len(self._distinct(paths)) >= owed

        await _until(all_arrived, 600)
        last = max(r.at for r in self._distinct(paths).values())
        await self._unsubscribe(paths)  # their deliveries would weigh on the latency run
        return {"webhook_deliveries_per_s": owed / (last - resumed), "webhook_deliveries": owed}

    async def _unsubscribe(self, paths: list[str]) -> None:
        async with httpx.AsyncClient(
            base_url=self.bench.gateway, timeout=60, headers=self.bench.headers
        ) as http:
            listed = await http.get("/api/v1/webhooks", params={"limit": 500})
            listed.raise_for_status()
            for endpoint in listed.json()["items"]:
                if any(endpoint["url"] == self.receiver.url(p) for p in paths):
                    (await http.delete(f"/api/v1/webhooks/{endpoint['id']}")).raise_for_status()

    def _distinct(self, paths: list[str]) -> dict[tuple[str, str], Received]:
        return {(r.path, r.webhook_id): r for r in self.receiver.delivered() if r.path in paths}

    def _webhook_pids(self) -> list[int]:
        return [
            c.process.pid
            for c in self.system.children
            if c.instance.startswith("webhooks-") and c.process
        ]

    async def latency(self, count: int, rate: float, path: str) -> Timed:
        """Values 1 … count at `rate` a second, each timed to its webhook (see the module)."""
        async with httpx.AsyncClient(base_url=self.bench.gateway, timeout=60) as http:
            _, (kpi_id,) = await self.bench.chain(http, 1, target=count)
            linked = await http.get(f"/api/v1/kpis/{kpi_id}/objectives", headers=self.bench.headers)
            linked.raise_for_status()
            (person,) = [o["id"] for o in linked.json()]
            await self.subscribe(http, path, WebhookEventType.OBJECTIVE_PROGRESS_CHANGED)
        client = await nats.connect(self.bench.nats_url)
        js = client.jetstream()
        sent_at: list[float] = []
        first = datetime.now(UTC) - timedelta(minutes=1)
        busy = cpu.CpuShare()
        try:
            started = time.perf_counter()
            for n in range(1, count + 1):
                sent_at.append(time.perf_counter())
                observed = (first + timedelta(milliseconds=n)).isoformat()
                await js.publish(
                    subjects.kpi_value_subject(kpi_id),
                    json.dumps({"value": n, "observed_at": observed}).encode(),
                )
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))

            async def all_timed() -> bool:
                return len(self._times(path, person, sent_at)) == count

            await _until(all_timed, SETTLE_S, fail=False)
        finally:
            await client.close()
        busy_pct = busy.since()
        await self._unsubscribe([path])  # its webhooks would weigh on the next run
        return Timed(count, self._times(path, person, sent_at), self._stage(path, person), busy_pct)

    def _stage(self, path: str, person: int) -> list[float]:
        """The webhooks service's share: from the progress event (its timestamp, written by the
        progress worker on this machine's clock) to the webhook's arrival, in ms."""
        return [
            (r.wall - datetime.fromisoformat(json.loads(r.body)["timestamp"]).timestamp()) * 1000
            for r in self.receiver.delivered(path)
            if r.data["objective_id"] == person
        ]

    def _times(self, path: str, person: int, sent_at: list[float]) -> list[float]:
        """Each value's time to the first webhook reflecting it or a later value, in ms."""
        count = len(sent_at)
        arrivals = sorted(
            (r for r in self.receiver.delivered(path) if r.data["objective_id"] == person),
            key=lambda r: r.at,
        )
        times: list[float] = []
        for arrival in arrivals:
            reflected = round(arrival.data["progress_percentage"] * count / 100)
            for n in range(len(times) + 1, min(reflected, count) + 1):
                times.append((arrival.at - sent_at[n - 1]) * 1000)
        return times


@dataclass(frozen=True)
class Timed:
    sent: int
    times: list[float]  # each value's, in ms
    stage: list[float]  # the webhooks service's share of each webhook's, in ms
    cpu_busy_pct: float  # of the whole machine, while the values were sent and timed

    def figures(self, name: str, stage_name: str | None) -> dict[str, float]:
        found = {
            f"{name}_timed": len(self.times),
            f"{name}_sent": self.sent,
            f"{name}_cpu_busy_pct": self.cpu_busy_pct,
        }
        if self.times:
            found[f"{name}_p50_ms"] = statistics.median(self.times)
            found[f"{name}_p99_ms"] = percentile(self.times, 0.99)
        if stage_name and self.stage:
            found[f"{stage_name}_p50_ms"] = statistics.median(self.stage)
            found[f"{stage_name}_p99_ms"] = percentile(self.stage, 0.99)
        return found


async def _publish_refused(js: JetStreamContext, count: int) -> None:
    """Values to KPIs that do not exist, each refused into KPI_VALUES_DLQ: one event each."""
    for start in range(0, count, WINDOW):
        await asyncio.gather(
            *(
                js.publish(
                    subjects.kpi_value_subject(UNKNOWN_KPI + n % 100),
                    json.dumps({"value": n}).encode(),
                )
                for n in range(start, min(start + WINDOW, count))
            )
        )


async def _ingested(js: JetStreamContext) -> bool:
    """The KPIs service has taken every value (and dead-lettered the refused ones)."""
    info = await js.consumer_info(subjects.KPI_VALUES.name, "kpis-ingest")
    return not (info.num_pending or info.num_ack_pending)


async def _until(
    check: Callable[[], Awaitable[bool]], timeout_s: float, *, fail: bool = True
) -> None:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    if fail:
        raise TimeoutError(f"not done within {timeout_s:.0f} s")


async def measure(bench: Any, system: System, values: int, latency_values: int) -> dict[str, float]:
    receiver = Receiver()
    await receiver.start()
    try:
        runner = WebhookBench(bench, system, receiver)
        with bench.console.status(f"webhooks: a backlog of {values:,} values' progress events"):
            figures = await runner.throughput(values)
        with bench.console.status(
            f"webhooks: {latency_values:,} values at {STEADY_RATE:.0f}/s to their webhook"
        ):
            steady = await runner.latency(latency_values, STEADY_RATE, "/latency")
        with bench.console.status(
            f"webhooks: {latency_values:,} values at {LOADED_RATE:.0f}/s to their webhook"
        ):
            loaded = await runner.latency(latency_values, LOADED_RATE, "/latency-loaded")
        figures.update(steady.figures("webhook_latency", "webhook_stage"))
        figures.update(loaded.figures("webhook_loaded_latency", None))
    finally:
        await receiver.stop()
    return figures
