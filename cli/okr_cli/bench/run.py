"""The benchmark: a system of its own on free ports, loaded, measured, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_cli import probe
from okr_cli.bench import cpu, history, load, periods, raw, webhooks
from okr_cli.bench.restart import GatewayRestart
from okr_cli.bench.rollup import RollupClock, percentile
from okr_cli.bench.targets import PARTS
from okr_cli.bench.trees import import_tree
from okr_cli.bench.waits import stored_values, until, until_idle
from okr_cli.config import CliSettings
from okr_cli.services import SERVICES
from okr_cli.supervisor import System
from okr_shared import subjects
from okr_shared.db import make_engine
from okr_shared.embedded import free_port

ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway system's
SETTLE_S = 30.0  # after the last value: how long its rollup may take before it counts untimed
CLOSED_YEAR = 2027  # the 111k tree's own year: closing it freezes nothing another part uses


@dataclass(frozen=True)
class Plan:
    single_values: int
    batch_values: int
    latency_values: int
    get_seconds: float
    raw_messages: int
    webhook_values: int  # values whose progress events make the webhooks' backlog
    webhook_latency_values: int

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            return cls(20_000, 100_000, 1_000, 5.0, 20_000, 2_000, 500)
        return cls(100_000, 500_000, 5_000, 15.0, 100_000, 5_000, 1_500)


async def run(
    quick: bool, workers: int, console: Console, parts: tuple[str, ...] = PARTS
) -> dict[str, float]:
    plan = Plan.of(quick)
    data = Path(tempfile.mkdtemp(prefix="okr-bench-"))
    settings = CliSettings(
        data_dir=data,
        nats_port=free_port(),
        postgres_port=free_port(),
        gateway_port=free_port(),
        metrics_port=0,  # a system of its own: never contend with a running `okr up`
        admin_password=ADMIN_PASSWORD,
    )
    extra_env = {
        "OKR_GATEWAY_WRITES_PER_MINUTE": "0",
        "OKR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **webhooks.ALLOW,
    }
    system = System(settings, {"progress": workers}, extra_env=extra_env)
    figures: dict[str, float] = {}
    try:
        started = time.perf_counter()
        with console.status("starting the system"):
            endpoints = await asyncio.to_thread(system.start_servers)
            await asyncio.to_thread(system.migrate, endpoints)
            system.start_services(endpoints)
            await probe.wait_until_ready(
                system.gateway_url,
                endpoints.nats_url,
                {s.name for s in SERVICES},
                120,
                system.check_started,
            )
        figures["startup_to_ready_s"] = time.perf_counter() - started
        bench = Bench(system.gateway_url, endpoints.nats_url, endpoints.database_url, console)
        bench.pids = _pids(system)
        bench.restart = GatewayRestart(system, bench.pids)
        await bench.login()
        with console.status("raw limits of this machine"):
            figures["nats_pull_raw_msgs_per_s"] = await raw.nats_pull_raw(
                endpoints.nats_url, plan.raw_messages
            )
            figures["pg_commit_raw_per_s"] = await raw.pg_commit_raw(endpoints.database_url, 3.0)
        if "ingest" in parts:
            figures.update(await bench.ingest(plan))
        if "latency" in parts:
            figures.update(await bench.latency(plan))
        if "reads" in parts:
            figures.update(await bench.reads(plan))
        if "webhooks" in parts:
            figures.update(
                await webhooks.measure(
                    bench, system, plan.webhook_values, plan.webhook_latency_values
                )
            )
    finally:
        with console.status("stopping"):
            await asyncio.to_thread(system.stop)
        shutil.rmtree(data, ignore_errors=True)
    return figures


def _pids(system: System) -> dict[str, int]:
    """The processes whose CPU time a request costs: services, servers, and this one (the
    load generator shares the machine)."""
    pids = {c.instance: c.process.pid for c in system.children if c.process}
    for name, server in (("nats", system.nats), ("postgres", system.postgres)):
        if server and server.process:
            pids[name] = server.process.pid
    pids["bench client"] = os.getpid()
    return pids


class Bench:
    def __init__(self, gateway: str, nats_url: str, database_url: str, console: Console) -> None:
        self.pids: dict[str, int] = {}
        self.gateway = gateway
        self.nats_url = nats_url
        self.database_url = database_url
        self.console = console
        self.headers: dict[str, str] = {}
        self.restart: GatewayRestart | None = None

    async def login(self) -> None:
        async with httpx.AsyncClient(base_url=self.gateway) as http:

            async def signed_in() -> bool:  # the gateway creates the admin as it starts
                response = await http.post(
                    "/api/v1/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
                )
                if response.status_code != 200:
                    return False
                self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
                return True

            await until(signed_in, timeout_s=30)

    async def post(
        self, http: httpx.AsyncClient, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        response = await http.post(path, json=body, headers=self.headers)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def chain(
        self, http: httpx.AsyncClient, kpis: int, target: int = 1000
    ) -> tuple[int, list[int]]:
        """company > division > team > 10 individuals, the KPIs (baseline 0) linked to the
        individuals."""
        company = await self.post(
            http, "/api/v1/objectives", {"title": "Bench", "level": "company", "year": 2026}
        )
        division = await self.post(
            http,
            "/api/v1/objectives",
            {"title": "D", "level": "division", "year": 2026, "parent_id": company["id"]},
        )
        team = await self.post(
            http,
            "/api/v1/objectives",
            {"title": "T", "level": "team", "year": 2026, "parent_id": division["id"]},
        )
        people = [
            await self.post(
                http,
                "/api/v1/objectives",
                {"title": f"I{n}", "level": "individual", "year": 2026, "parent_id": team["id"]},
            )
            for n in range(10)
        ]
        kpi_ids = []
        for n in range(kpis):
            kpi = await self.post(
                http,
                "/api/v1/kpis",
                {"title": f"K{n}", "target_value": target, "baseline_value": 0, "year": 2026},
            )
            await self.post(
                http, f"/api/v1/objectives/{people[n % 10]['id']}/kpis", {"kpi_id": kpi["id"]}
            )
            kpi_ids.append(kpi["id"])
        return company["id"], kpi_ids

    async def ingest(self, plan: Plan) -> dict[str, float]:
        async with httpx.AsyncClient(base_url=self.gateway, timeout=60) as http:
            _, kpi_ids = await self.chain(http, 100)
        client = await nats.connect(self.nats_url)
        engine = make_engine(self.database_url, pool_size=1)
        try:
            points = [await history.points(engine)]
            single = await self._ingest(client, engine, "single", plan.single_values, kpi_ids, 0)
            points.append(await history.points(engine))
            batch = await self._ingest(
                client, engine, "batch", plan.batch_values, kpi_ids, plan.single_values
            )
            points.append(await history.points(engine))
        finally:
            await engine.dispose()
            await client.close()
        start, middle, end = points
        return {
            "ingest_single_values_per_s": single,
            "ingest_batch_values_per_s": batch,
            # Single messages move the KPIs back and forth; each batch message ends on the same
            # value per KPI as the one before, so after the first the rollups change nothing.
            "history_rows_per_value": (middle - start) / plan.single_values,
            "history_rows_per_value_batch": (end - middle) / plan.batch_values,
        }

    async def _ingest(
        self,
        client: Any,
        engine: AsyncEngine,
        mode: str,
        count: int,
        kpi_ids: list[int],
        before: int,
    ) -> float:
        """Values per second from the publisher's first publish (not from starting its
        interpreter) until every value is stored, no consumer has anything left and every outbox
        is sent: the last rollups published. Timed at the first look that finds it so, once the
        next look confirms it (an outbox row may be on its way into a stream between the two)."""
        js = client.jetstream()
        idle_at: float | None = None  # when a look first found the system done, wall clock
        with Progress(console=self.console, transient=True) as bar:
            task = bar.add_task(f"ingesting {count:,} values ({mode} messages)", total=count)
            publisher = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "okr_cli.bench.publisher",
                self.nats_url,
                mode,
                str(count),
                ",".join(map(str, kpi_ids)),
                stdout=subprocess.PIPE,
            )
            published = asyncio.create_task(publisher.communicate())

            async def done() -> bool:
                nonlocal idle_at
                now, idle = await stored_values(js, engine)
                looked_at = time.time()
                bar.update(task, completed=now - before)
                if not (published.done() and idle and now >= before + count):
                    idle_at = None
                    return False
                if idle_at is None:
                    idle_at = looked_at
                    return False
                return True

            await until(done, 600)
            output, _ = await published
        assert idle_at is not None
        started_at = float(json.loads(output)["started_at"])
        return count / (idle_at - started_at)

    async def latency(self, plan: Plan) -> dict[str, float]:
        """Rollup latency of every value, at 500 values/s (see bench/rollup.py): waits after the
        last for every value's update, up to SETTLE_S."""
        async with httpx.AsyncClient(base_url=self.gateway, timeout=60) as http:
            company, (kpi_id,) = await self.chain(http, 1, target=plan.latency_values)
        clock = RollupClock(target=plan.latency_values)
        client = await nats.connect(self.nats_url)

        caught_up = asyncio.Event()  # every value sent so far timed

        async def on_update(msg: Any) -> None:
            clock.update(json.loads(msg.data)["progress_percentage"], time.perf_counter())
            if clock.all_timed:
                caught_up.set()

        subscription = await client.subscribe(subjects.progress_subject(company), cb=on_update)
        js = client.jetstream()
        first = datetime.now(UTC) - timedelta(minutes=1)
        try:
            with self.console.status(f"rollup latency: {plan.latency_values:,} values at 500/s"):
                started = time.perf_counter()
                for n in range(1, plan.latency_values + 1):
                    clock.send(time.perf_counter())
                    observed = (first + timedelta(milliseconds=n)).isoformat()
                    await js.publish(
                        subjects.kpi_value_subject(kpi_id),
                        json.dumps({"value": n, "observed_at": observed}).encode(),
                    )
                    await asyncio.sleep(max(0.0, started + n / 500 - time.perf_counter()))
            if not clock.all_timed:
                caught_up.clear()  # no update can come between this and the wait
                with (
                    self.console.status("rollup latency: waiting for the last values' updates"),
                    contextlib.suppress(TimeoutError),
                ):
                    await asyncio.wait_for(caught_up.wait(), SETTLE_S)
        finally:
            await subscription.unsubscribe()
            await client.close()
        if clock.unrecognised:
            self.console.print(
                f"[yellow]{clock.unrecognised} company updates reflected no value sent[/yellow]"
            )
        return clock.figures()

    async def reads(self, plan: Plan) -> dict[str, float]:
        figures: dict[str, float] = {}
        async with httpx.AsyncClient(
            base_url=self.gateway, timeout=120, headers=self.headers
        ) as http:
            with self.console.status("importing trees of 11,111 and 111,111 objectives"):
                small = await import_tree(http, 11_111, "Bench tree 11k")
                started = time.perf_counter()
                large = await import_tree(http, 111_111, "Bench tree 111k", CLOSED_YEAR)
                figures["import_objectives_per_s"] = len(large.ids) / (
                    time.perf_counter() - started
                )
        with self.console.status("waiting for the services to take the trees' events"):
            await until_idle(self.nats_url, self.database_url)
        if self.restart is not None:
            with self.console.status("restarting the gateway (its read model takes the trees)"):
                objectives = len(small.ids) + len(large.ids)
                figures.update(await self.restart.measure(objectives))
        async with httpx.AsyncClient(
            base_url=self.gateway, timeout=120, headers=self.headers
        ) as http:
            for root, key in ((small.root, "tree_view_11k_ms"), (large.root, "tree_view_111k_ms")):
                with self.console.status(f"{key}: median of 5"):
                    times = [
                        await _timed(http, "/api/v1/objectives/tree/view", {"root_id": root})
                        for _ in range(5)
                    ]
                figures[key] = statistics.median(times)
            with self.console.status(f"GET one objective, 8 clients, {plan.get_seconds:.0f} s"):
                before = cpu.snapshot(self.pids)
                got = await load.get_objective(
                    self.gateway, self.headers["Authorization"], small.ids, plan.get_seconds
                )
                costs = cpu.per_request_ms(before, cpu.snapshot(self.pids), got.pop("requests"))
                figures.update(got)
                figures.update({f"get_objective_cpu_ms[{k}]": v for k, v in costs.items()})
            with self.console.status(f"list children, 8 clients, {plan.get_seconds:.0f} s"):
                parents = small.ids[: len(small.ids) - len(small.leaves)]
                before = cpu.snapshot(self.pids)
                got = await load.list_children(
                    self.gateway, self.headers["Authorization"], parents, plan.get_seconds
                )
                costs = cpu.per_request_ms(before, cpu.snapshot(self.pids), got.pop("requests"))
                figures.update(got)
                figures.update({f"list_objectives_cpu_ms[{k}]": v for k, v in costs.items()})
            with self.console.status("ancestors of leaves in the 111k tree"):
                leaves = iter(random.sample(large.leaves, 200))
                times = await load.run(
                    self.gateway,
                    self.headers["Authorization"],
                    lambda: f"/api/v1/objectives/{next(leaves)}/ancestors",
                    clients=1,
                    seconds=float("inf"),
                    requests=200,
                )
                figures["ancestors_p99_ms"] = percentile(times, 0.99)
            with self.console.status(f"closing and reopening {CLOSED_YEAR}: 111,111 objectives"):
                figures.update(
                    await periods.close_and_reopen(
                        http, CLOSED_YEAR, len(large.ids), self.nats_url, self.database_url
                    )
                )
        return figures


async def _timed(http: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None) -> float:
    started = time.perf_counter()
    response = await http.get(path, params=params)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000
