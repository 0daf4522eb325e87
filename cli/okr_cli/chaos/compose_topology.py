"""The `compose-topology` scenario: the system compose.yaml describes, run without Docker on
loopback (compose_plan.py says how it differs, compose_run.py runs it).

First the vertical slice: a KPI value published on NATS as an HR system (user `hr`, compose's
OKR_NATS_HR_PASSWORD) reaches the company objective over REST (as compose's admin). Then an
integration created over REST connects to a node other than the gateway's through the auth
callout, and revoking it closes that connection (through the system account). Then the
chaos scenarios' stream of values while the NATS node leading KPI_VALUES is SIGKILLed and left
down (`docker kill`) and a progress replica is SIGKILLed (a crash: its restart policy,
`unless-stopped`, brings it back); judged by verdict.py. The gateway keeps compose's limit of 60
writes a minute per user, so the world is smaller than the other scenarios' (38 writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext

from okr_cli import probe
from okr_cli.chaos import compose_run, verdict, workload
from okr_cli.chaos.compose_plan import LOOPBACK, NATS_CLIENT_PORT
from okr_cli.chaos.compose_run import Topology
from okr_cli.chaos.harness import Probe, World, WorldWrites
from okr_shared import subjects
from okr_shared.db import make_engine
from okr_shared.nats_auth import split_credentials

NAME = "compose-topology"
SLICE_KEY = "compose-slice"
SLICE_VALUE = 37.5  # a KPI from 0 to 100: its progress is its value, and 37.5 is exact
WAIT_S = 60.0


@dataclass
class Compose(WorldWrites):
    """The running topology as the scenario (and a Probe) talks to it."""

    topology: Topology
    js: JetStreamContext  # as the services' NATS user
    http: httpx.AsyncClient  # the gateway's published port, as the admin
    world: World = field(default_factory=World)

    @property
    def nats_url(self) -> str:
        return self.topology.of("gateway")[0].spec.env["OKR_NATS_URL"]

    async def rolled_up(self, value: float) -> bool:
        """Has the probe objective's progress, over REST, reached `value`?"""
        try:
            return abs(await self.progress(self.world.probe_objective) - value) < 1e-6
        except httpx.HTTPError:  # the gateway waiting for a service: not yet
            return False

    async def instances_up(self) -> bool:
        expected = {
            p.env["OKR_INSTANCE"]
            for p in self.topology.processes
            if p.kind == "program" and p.restart != "no"
        }
        try:
            answered = await probe.ping_all(self.nats_url, wait_s=0.3)
        except Exception:  # NATS still electing or reconnecting
            return False
        return expected <= {info.instance for info in answered}

    async def progress(self, objective: int) -> float:
        response = await self.http.get(f"/api/v1/objectives/{objective}")
        response.raise_for_status()
        return float(response.json()["progress_percentage"])

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        while True:  # compose keeps the gateway's limit of writes a minute: wait as told
            response = await self.http.post(path, json=body)
            if response.status_code != 429:
                break
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


async def run(quick: bool) -> verdict.Verdict:
    from okr_cli.chaos.scenarios import Size  # noqa: PLC0415 - scenarios imports this module

    size = Size.of(quick)
    result = verdict.Verdict(NAME)
    async with compose_run.running() as topology, _connected(topology) as (compose, hr):
        _healthchecks(topology, result)
        chain = await _chain(compose)
        slice_value, took_s = await _vertical_slice(compose, hr, chain[-1])
        result.notes.append(
            f"vertical slice: a value published as hr reached the company objective over REST, "
            f"exactly, in {took_s:.1f} s"
        )
        result.notes.append(await _an_integration(compose))
        await _grow(compose, *chain)
        stream = workload.value_stream(compose.world.kpi_ids, size.values, seed=1)
        publisher = workload.Publisher(hr, size.rate_per_s)
        prober = Probe(compose)
        load = asyncio.create_task(publisher.publish_all(stream.messages))
        try:
            result.recovery_s = await _lose_a_node_and_a_replica(compose, prober, result)
            await load
        finally:
            load.cancel()  # nothing, once it is done; else no publishing into a stopped system
        engine = make_engine(_owner_url(topology), pool_size=2)
        try:
            await verdict.quiet(compose.js, engine, timeout_s=180)
            accepted = publisher.accepted_keys(stream.messages)
            result.unacknowledged = len(publisher.unacked)
            return await verdict.judge(
                result,
                compose.js,
                engine,
                sent={**stream.values, **prober.sent, SLICE_KEY: slice_value},
                # As in every scenario: all the stream's values are owed, the probe's once acked.
                owed=set(stream.values) | prober.acked | {SLICE_KEY},
                accepted=accepted | prober.acked | {SLICE_KEY},
                # The slice's value is older than the stream's: they replace it where they can.
                latest={chain[-1]: SLICE_VALUE} | stream.latest(accepted) | prober.latest(),
            )
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def _connected(topology: Topology) -> AsyncIterator[tuple[Compose, JetStreamContext]]:
    """As the services' NATS user, as the admin on the gateway's published port, and as HR on
    the NATS nodes' client ports."""
    gateway = topology.of("gateway")[0].spec
    nodes = [i.spec for i in topology.instances.values() if i.spec.kind == "nats"]
    hr_urls = [
        f"nats://hr:{node.env['OKR_NATS_HR_PASSWORD']}@{LOOPBACK}:{node.ports[NATS_CLIENT_PORT]}"
        for node in nodes
    ]
    options: dict[str, Any] = {
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.2,
        "error_cb": probe.quiet,  # the faults are the point: no traceback for each
    }
    url = f"http://{LOOPBACK}:{gateway.ports[gateway.published[0]]}"
    servers, auth = split_credentials(gateway.env["OKR_NATS_URL"])  # as the services connect
    client = await nats.connect(servers, **auth, **options)
    servers, auth = split_credentials(",".join(hr_urls))  # as a careful HR system would
    hr = await nats.connect(servers, **auth, **options)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            login = {"username": gateway.env["OKR_ADMIN_USERNAME"]}
            login["password"] = gateway.env["OKR_ADMIN_PASSWORD"]
            response = await http.post("/api/v1/auth/login", data=login)
            response.raise_for_status()
            http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
            yield Compose(topology, client.jetstream(), http), hr.jetstream()
    finally:
        await hr.close()
        await client.close()


def _owner_url(topology: Topology) -> str:
    """The owner's database URL, which only the migrate job has: what the verdict reads with."""
    return topology.of("migrate")[0].spec.env["OKR_DATABASE_URL"]


def _healthchecks(topology: Topology, result: verdict.Verdict) -> None:
    checked = {i.spec.instance for i in topology.instances.values() if i.spec.healthcheck}
    if not checked or set(topology.healthy) != checked:
        result.notes.append(f"FAILED: healthchecks passed {topology.healthy} of {checked}")
    else:
        result.notes.append(f"all {len(checked)} healthchecks passed")


async def _chain(compose: Compose) -> tuple[int, int, int, int, int]:
    """Company > division > team > person, the person linked to a KPI: the slice's path."""
    w = compose.world
    w.company = await compose.objective("Compose Inc", "company", None)
    division = await compose.objective("Division 0", "division", w.company)
    team = await compose.objective("Team 0.0", "team", division)
    person = await compose.objective("Person 0.0.0", "individual", team)
    kpi = await compose.kpi("KPI 0")
    await compose.link(person, kpi, 1.0)
    return w.company, division, team, person, kpi


async def _vertical_slice(
    compose: Compose, hr: JetStreamContext, kpi: int
) -> tuple[workload.Value, float]:
    """A value on NATS as HR; the company objective, over REST, at exactly that value. The
    value sent, and how long it took."""
    started = time.monotonic()
    observed = datetime.now(UTC) - timedelta(hours=2)  # older than every value of the stream
    sent = workload.Value(SLICE_KEY, kpi, SLICE_VALUE, observed)
    body = json.dumps({"value": SLICE_VALUE, "observed_at": observed.isoformat()}).encode()
    subject = subjects.kpi_value_subject(kpi)
    await hr.publish(subject, body, headers={"Nats-Msg-Id": SLICE_KEY}, timeout=5)
    deadline = time.monotonic() + WAIT_S
    while abs(await compose.progress(compose.world.company) - SLICE_VALUE) > verdict.TOLERANCE:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the company objective did not reach {SLICE_VALUE} over REST")
        await asyncio.sleep(0.1)
    return sent, time.monotonic() - started


async def _an_integration(compose: Compose) -> str:
    """Created over REST, connected to nats-2 with its own credentials (let in by the gateway's
    auth callout), revoked: its connection must be closed. A note, FAILED when it is not."""
    made = await compose.post("/api/v1/integrations", {"name": f"compose-{secrets.token_hex(3)}"})
    node = compose.topology.of("nats-2")[0].spec
    port = node.ports[NATS_CLIENT_PORT]
    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    client = await nats.connect(
        f"nats://{made['nats_user']}:{made['nats_password']}@{LOOPBACK}:{port}",
        inbox_prefix=made["inbox_prefix"],
        allow_reconnect=False,
        closed_cb=on_closed,
        error_cb=probe.quiet,
    )
    try:
        started = time.monotonic()
        response = await compose.http.delete(f"/api/v1/integrations/{made['id']}")
        response.raise_for_status()
        await asyncio.wait_for(closed.wait(), timeout=10)
    except (TimeoutError, httpx.HTTPError) as err:
        return f"FAILED: a revoked integration's connection to nats-2 was not closed ({err!r})"
    finally:
        await client.close()
    return (
        "an integration connected to nats-2 through the gateway's auth callout; revoked, its "
        f"connection was closed after {time.monotonic() - started:.2f} s"
    )


async def _grow(
    compose: Compose, company: int, division: int, team: int, person: int, kpi: int
) -> None:
    """Around the chain: 2 divisions > 4 teams > 8 people, 8 KPIs, as harness.World's tree."""
    w = compose.world
    people = [person]
    for d in range(2):
        div = division if d == 0 else await compose.objective(f"Division {d}", "division", company)
        for t in range(2):
            tm = team if (d, t) == (0, 0) else await compose.objective(f"Team {d}.{t}", "team", div)
            w.teams.append(tm)
            for p in range(2):
                if (d, t, p) != (0, 0, 0):
                    name = f"Person {d}.{t}.{p}"
                    people.append(await compose.objective(name, "individual", tm))
    w.kpi_ids = [kpi] + [await compose.kpi(f"KPI {n}") for n in range(1, 8)]
    for n, someone in enumerate(people):  # every KPI linked once or twice, various weights
        if n:  # the first link is the chain's
            await compose.link(someone, w.kpi_ids[n % 8], (1.0, 0.5, 0.2)[n % 3])
        if n % 2:
            await compose.link(someone, w.kpi_ids[(n * 7) % 8], 0.25)
    w.probe_objective = await compose.objective("Probe", "individual", w.teams[0])
    w.probe_kpi = await compose.kpi("Probe KPI")
    await compose.link(w.probe_objective, w.probe_kpi, 1.0)


async def _lose_a_node_and_a_replica(
    compose: Compose, prober: Probe, result: verdict.Verdict
) -> float:
    await asyncio.sleep(1.0)  # under load
    topology = compose.topology
    leader = await _stream_leader(compose.js)
    node = next(
        (
            i.spec.instance
            for i in topology.instances.values()
            if i.spec.kind == "nats" and _server_name(i.spec.argv) == leader
        ),
        None,
    )
    if node is None:
        raise TimeoutError(f"KPI_VALUES is led by {leader!r}, which no NATS node of compose's is")
    replica = topology.of("progress")[0].spec.instance
    fault_at = time.monotonic()
    await asyncio.to_thread(topology.kill, node)
    await asyncio.to_thread(topology.crash, replica)
    recovery = await prober.recovery_s(fault_at)
    restarts = topology.instances[replica].restarts
    result.notes.append(
        f"SIGKILLed {node} (the KPI_VALUES leader; left down) and {replica} "
        f"(started again by its restart policy: {restarts} restart)"
    )
    if not restarts or topology.instances[node].exit_code() is None:
        result.notes.append(f"FAILED: {replica} not restarted, or {node} not down")
    return recovery


async def _stream_leader(js: JetStreamContext) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # a busy cluster may take a moment to say
            info = await asyncio.wait_for(js.stream_info("KPI_VALUES"), 2)
            if info.cluster and info.cluster.leader:
                return info.cluster.leader
        await asyncio.sleep(0.2)
    raise TimeoutError("no node says it leads the KPI_VALUES stream")


def _server_name(argv: tuple[str, ...]) -> str:
    """The `--name` compose's command gives a NATS node."""
    return argv[argv.index("--name") + 1]
