"""A system of its own for one chaos scenario: embedded servers on free ports (or a three-node
NATS cluster), the services under the same supervisor as `okr up`, which brings back whatever
dies, and what a scenario needs to hurt it and to watch it come back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_cli import probe
from okr_cli.chaos.cluster import NatsCluster
from okr_cli.chaos.workload import Value
from okr_cli.config import CliSettings
from okr_cli.services import SERVICES
from okr_cli.supervisor import STOP_TIMEOUT_S, Child, Endpoints, System
from okr_shared import subjects
from okr_shared.db import make_engine
from okr_shared.embedded import free_port

ADMIN_PASSWORD = "chaos-admin-password"  # noqa: S105 - a throwaway system's
OnExit = Callable[[Child], None]


@dataclass
class World:
    """What the scenario built: a company > 3 divisions > 9 teams > 27 people tree whose people
    link KPIs (0 to 100, so a KPI's progress is its value), and one probe person and KPI."""

    company: int = 0
    teams: list[int] = field(default_factory=list)
    kpi_ids: list[int] = field(default_factory=list)
    probe_objective: int = 0
    probe_kpi: int = 0


class WorldWrites:
    """The writes that build a chaos world, over the gateway's REST API as the admin; a class
    gives `post` (how to send one, with whatever patience its system needs)."""

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def objective(self, title: str, level: str, parent: int | None) -> int:
        body = {"title": title, "level": level, "year": 2026, "parent_id": parent}
        return int((await self.post("/api/v1/objectives", body))["id"])

    async def kpi(self, title: str) -> int:
        body = {"title": title, "target_value": 100, "baseline_value": 0, "year": 2026}
        return int((await self.post("/api/v1/kpis", body))["id"])

    async def link(self, objective: int, kpi: int, weight: float) -> None:
        await self.post(f"/api/v1/objectives/{objective}/kpis", {"kpi_id": kpi, "weight": weight})


@dataclass
class Chaos(WorldWrites):
    system: System
    endpoints: Endpoints
    client: Client
    js: JetStreamContext
    engine: AsyncEngine
    http: httpx.AsyncClient
    cluster: NatsCluster | None = None
    world: World = field(default_factory=World)
    on_exit: OnExit = lambda child: None
    # (instance, exit code, when): -9 is a process that SIGKILLed itself at a failpoint
    exits: list[tuple[str, int, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the fault did, for the verdict

    async def watch(self) -> None:
        """The supervisor's loop, with a word to the scenario before a dead child restarts."""
        while True:
            for child in self.system.children:
                code = child.exited()
                if code is not None and child.next_start == 0.0:
                    self.exits.append((child.instance, code, time.monotonic()))
                    self.on_exit(child)
            await asyncio.to_thread(self.system.watch, lambda _: None)
            await asyncio.sleep(0.1)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def build_world(self, kpis: int = 30) -> World:
        w = self.world
        w.company = await self.objective("Chaos Inc", "company", None)
        people = []
        for d in range(3):
            division = await self.objective(f"Division {d}", "division", w.company)
            for t in range(3):
                team = await self.objective(f"Team {d}.{t}", "team", division)
                w.teams.append(team)
                people += [
                    await self.objective(f"Person {d}.{t}.{p}", "individual", team)
                    for p in range(3)
                ]
        w.kpi_ids = [await self.kpi(f"KPI {n}") for n in range(kpis)]
        for n, person in enumerate(people):  # every KPI linked once or twice, various weights
            await self.link(person, w.kpi_ids[n % kpis], (1.0, 0.5, 0.2)[n % 3])
            if n % 2:
                await self.link(person, w.kpi_ids[(n * 7) % kpis], 0.25)
        w.probe_objective = await self.objective("Probe", "individual", w.teams[0])
        w.probe_kpi = await self.kpi("Probe KPI")
        await self.link(w.probe_objective, w.probe_kpi, 1.0)
        return w

    def child(self, instance: str) -> Child:
        return next(c for c in self.system.children if c.instance == instance)

    async def arm(self, instance: str, failpoints: str) -> None:
        """Restart `instance` gracefully with failpoints armed, and wait until it is back:
        armed from the start, they would fire while the world is being built."""
        child = self.child(instance)
        child.env["OKR_FAILPOINTS"] = failpoints
        assert child.process is not None
        child.process.terminate()
        try:  # as `okr up` stops a service: SIGTERM, and SIGKILL if it is not gone in time
            await asyncio.to_thread(child.process.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.notes.append(f"{instance} did not stop within {STOP_TIMEOUT_S:.0f} s; killed")
            child.process.kill()
            await asyncio.to_thread(child.process.wait)
        deadline = time.monotonic() + 60
        while not (child.exited() is None and await self.instances_up()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{instance} did not come back after arming its failpoints")
            await asyncio.sleep(0.1)
        child.restarts = 0  # that was no crash: the next one gets the first pause, as in okr up

    async def instances_up(self) -> bool:
        expected = {c.instance for c in self.system.children}
        try:
            answered = await probe.ping_all(self.endpoints.nats_url, wait_s=0.3)
        except Exception:  # NATS still away
            return False
        return expected <= {info.instance for info in answered}

    async def rolled_up(self, value: float) -> bool:
        """Has the probe objective's rollup reached `value`?"""
        try:
            async with self.engine.connect() as db:
                got = await db.scalar(
                    text("SELECT progress FROM progress.objectives WHERE id = :id"),
                    {"id": self.world.probe_objective},
                )
        except Exception:  # PostgreSQL still away
            return False
        return got is not None and abs(got - value) < 1e-6


class Probed(Protocol):
    """What a Probe needs of the system it watches (a Chaos, or compose's topology)."""

    js: JetStreamContext
    world: World

    async def rolled_up(self, value: float) -> bool: ...

    async def instances_up(self) -> bool: ...


class Probe:
    """Measures recovery: from a fault until every instance answers again and a value published
    after the fault has been rolled up, end to end. Its values are accepted values like any."""

    def __init__(self, chaos: Probed) -> None:
        self.chaos = chaos
        self.sent: dict[str, Value] = {}  # by key, acknowledged or not
        self.acked: set[str] = set()

    async def recovery_s(self, fault_at: float, timeout_s: float = 120.0) -> float:
        n = 0
        while time.monotonic() - fault_at < timeout_s:
            n += 1
            key, value = f"probe-{fault_at:.3f}-{n}", float(n % 97 + 1)
            if (
                await self.publish(key, value)
                and await self._until_rolled(value, 2.0)
                and await self.chaos.instances_up()
            ):
                return time.monotonic() - fault_at
            await asyncio.sleep(0.1)
        raise TimeoutError(f"not recovered within {timeout_s:.0f} s")

    async def publish(self, key: str, value: float) -> bool:
        sent = Value(key, self.chaos.world.probe_kpi, value, datetime.now(UTC))
        self.sent[key] = sent
        body = json.dumps({"value": value, "observed_at": sent.observed_at.isoformat()}).encode()
        try:
            await self.chaos.js.publish(
                subjects.kpi_value_subject(sent.kpi_id),
                body,
                headers={"Nats-Msg-Id": key},
                timeout=1,
            )
        except Exception:  # not accepted: it does not count
            return False
        self.acked.add(key)
        return True

    async def _until_rolled(self, value: float, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if await self.chaos.rolled_up(value):
                return True
            await asyncio.sleep(0.05)
        return False

    def latest(self) -> dict[int, float]:
        """The probe KPI's newest accepted value."""
        if not self.acked:
            return {}
        newest = max((self.sent[k] for k in self.acked), key=lambda v: v.observed_at)
        return {newest.kpi_id: newest.value}


@contextlib.asynccontextmanager
async def started(
    *,
    cluster: bool = False,
    replicas: dict[str, int] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Chaos]:
    """`replicas`: processes per service (default: two progress workers, one of the rest);
    `env`: more variables for the services."""
    data = Path(tempfile.mkdtemp(prefix="okr-chaos-"))
    nodes = NatsCluster(data) if cluster else None
    settings = CliSettings(
        data_dir=data,
        nats_port=free_port(),
        postgres_port=free_port(),
        gateway_port=free_port(),
        metrics_port=0,  # a system of its own: never contend with a running `okr up`
        nats_url=nodes.url if nodes else None,
        admin_password=ADMIN_PASSWORD,
    )
    extra_env = {"OKR_GATEWAY_WRITES_PER_MINUTE": "0", "OKR_ADMIN_PASSWORD": ADMIN_PASSWORD}
    if nodes:
        extra_env["OKR_NATS_REPLICAS"] = "3"
    extra_env.update(env or {})
    system = System(settings, replicas or {"progress": 2}, extra_env=extra_env)
    watcher: asyncio.Task[None] | None = None
    try:
        if nodes:
            await asyncio.to_thread(nodes.start)
        endpoints = await asyncio.to_thread(system.start_servers)
        await asyncio.to_thread(system.migrate, endpoints)
        client = await nats.connect(
            endpoints.nats_url.split(","),
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            error_cb=probe.quiet,  # the faults are the point: no traceback for each
        )
        js = client.jetstream()
        if nodes:
            await _jetstream_ready(js)
        system.start_services(endpoints)
        await probe.wait_until_ready(
            system.gateway_url,
            endpoints.nats_url,
            {s.name for s in SERVICES},
            120,
            system.check_started,
        )
        engine = make_engine(endpoints.database_url, pool_size=2)
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as http:
            token = await _login(http)
            http.headers["Authorization"] = f"Bearer {token}"
            chaos = Chaos(system, endpoints, client, js, engine, http, nodes)
            watcher = asyncio.create_task(chaos.watch())
            try:
                yield chaos
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                await engine.dispose()
                await client.close()
    finally:
        await asyncio.to_thread(system.stop)
        if nodes:
            await asyncio.to_thread(nodes.stop)
        shutil.rmtree(data, ignore_errors=True)


async def _jetstream_ready(js: JetStreamContext, timeout_s: float = 30.0) -> None:
    """A cluster elects its JetStream meta leader a moment after the servers start."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await js.account_info()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _login(http: httpx.AsyncClient) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the gateway creates the admin as it starts
        response = await http.post(
            "/api/v1/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        if response.status_code == 200:
            return str(response.json()["access_token"])
        await asyncio.sleep(0.1)
    raise TimeoutError("could not log in as the admin")
