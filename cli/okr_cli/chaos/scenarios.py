"""The scenarios: each loads a system of its own with a known stream of KPI values, hurts it in
one way while the values flow, lets it settle, and judges it (see verdict.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import nats

from okr_cli.chaos import compose_topology, fuzz, harness, openapi, verdict, webhooks, workload
from okr_cli.chaos.harness import Chaos, Probe
from okr_cli.probe import quiet
from okr_cli.supervisor import Child

Fault = Callable[[Chaos, Probe], Awaitable[float | None]]
KILLED = -9  # the exit code of a process that SIGKILLed itself at a failpoint


@dataclass(frozen=True)
class Size:
    values: int
    rate_per_s: float
    fuzz_messages: int

    @classmethod
    def of(cls, quick: bool) -> Size:
        return cls(3_000, 500.0, 10_000) if quick else cls(20_000, 1_000.0, 10_000)


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    fault: Fault
    failpoints: tuple[str, str] | None = None  # (instance, spec), armed before the load starts
    cluster: bool = False
    replicas: dict[str, int] | None = None  # processes per service, if not the harness's default
    fuzzed: bool = False
    keeps_creating: bool = False  # objectives and links created while the values flow
    long: bool = False  # not in the default test suite
    # A scenario of another kind, which runs itself (quick or not) instead of the value stream.
    runs_itself: Callable[[bool], Awaitable[verdict.Verdict]] | None = None


async def _died(
    chaos: Chaos,
    instance: str,
    times: int,
    probe: Probe | None = None,
    timeout_s: float = 60.0,
) -> float:
    """Wait until `instance` has died at a failpoint `times` times; when it last did. With a
    probe, a value is published every half second meanwhile: a worker restarted after the
    stream has been sent (or one whose replica takes every batch) still gets work to reach its
    failpoint with, where it would otherwise wait for ever (seen once in the quick size)."""
    deadline = time.monotonic() + timeout_s
    nudged_at, n = time.monotonic(), 0
    while time.monotonic() < deadline:
        deaths = [at for name, code, at in chaos.exits if (name, code) == (instance, KILLED)]
        if len(deaths) >= times:
            return deaths[-1]
        if probe is not None and time.monotonic() - nudged_at >= 0.5:
            n, nudged_at = n + 1, time.monotonic()
            await probe.publish(f"nudge-{instance}-{n}", float(n % 97 + 1))
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{instance} did not reach its failpoint {times} time(s)")


def _disarm_after(chaos: Chaos, instance: str, deaths: int) -> None:
    """Let the failpoint fire `deaths` times, then restart the instance without it."""
    seen = 0

    def on_exit(child: Child) -> None:
        nonlocal seen
        if child.instance == instance and child.exited() == KILLED:
            seen += 1
            if seen >= deaths:
                child.env.pop("OKR_FAILPOINTS", None)

    chaos.on_exit = on_exit


async def kill_progress_worker(chaos: Chaos, probe: Probe) -> float:
    _disarm_after(chaos, "progress-1", 2)
    last = await _died(chaos, "progress-1", 2, probe)
    return await probe.recovery_s(last)


async def kill_kpis(chaos: Chaos, probe: Probe) -> float:
    _disarm_after(chaos, "kpis-1", 1)
    return await probe.recovery_s(await _died(chaos, "kpis-1", 1, probe))


async def kill_objectives_relay(chaos: Chaos, probe: Probe) -> float:
    """Twice: after the events were read from the outbox, before publishing; then after
    publishing, before marking them sent."""
    windows = iter(["outbox.objectives.after_publish=2"])

    def on_exit(child: Child) -> None:
        if child.instance == "objectives-1" and child.exited() == KILLED:
            child.env["OKR_FAILPOINTS"] = next(windows, "")

    chaos.on_exit = on_exit
    return await probe.recovery_s(await _died(chaos, "objectives-1", 2))


async def restart_nats(chaos: Chaos, probe: Probe) -> float:
    await asyncio.sleep(1.0)  # under load
    assert chaos.system.nats is not None
    fault_at = time.monotonic()
    await asyncio.to_thread(chaos.system.nats.kill)  # SIGKILL; the supervisor starts it again
    return await probe.recovery_s(fault_at)


async def restart_postgres(chaos: Chaos, probe: Probe) -> float:
    await asyncio.sleep(1.0)
    assert chaos.system.postgres is not None
    fault_at = time.monotonic()
    await asyncio.to_thread(chaos.system.postgres.crash)  # the supervisor starts it again
    return await probe.recovery_s(fault_at)


async def lose_a_cluster_node(chaos: Chaos, probe: Probe) -> float | None:
    """SIGKILL the node leading the KPI_VALUES stream; it stays down to the end. A scenario that
    cannot tell which node leads fails: killing another would test less than it claims."""
    await asyncio.sleep(1.0)
    assert chaos.cluster is not None
    leader = await _stream_leader(chaos, "KPI_VALUES", within_s=15.0)
    node = chaos.cluster.node(leader)
    if node is None:
        chaos.notes.append(
            f"FAILED: the KPI_VALUES stream's leader was not found (the cluster said "
            f"{leader!r}); no node was killed"
        )
        return None
    fault_at = time.monotonic()
    await asyncio.to_thread(node.kill)
    chaos.notes.append(f"killed {node.server_name}, the KPI_VALUES stream's leader")
    return await probe.recovery_s(fault_at)


async def kill_one_replica_of_each(chaos: Chaos, probe: Probe) -> float:
    """SIGKILL the first replica of every service at once, under load; the others carry on
    while the supervisor brings the killed ones back."""
    await asyncio.sleep(1.0)
    victims = [c for c in chaos.system.children if c.instance.endswith("-1") and c.process]
    running = Counter(c.instance.rsplit("-", 1)[0] for c in chaos.system.children)
    if running != Counter(REPLICATED) or len(victims) != len(REPLICATED):
        # Without a second replica of each, the scenario would test nothing it claims to.
        raise RuntimeError(f"expected two replicas of every service, found {dict(running)}")
    fault_at = time.monotonic()
    for child in victims:
        assert child.process is not None
        child.process.kill()
    return await probe.recovery_s(fault_at)


async def _stream_leader(chaos: Chaos, stream: str, within_s: float) -> str | None:
    """The name of the server leading `stream`, asked until a busy cluster says."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # a busy cluster may time out: ask again
            info = await asyncio.wait_for(chaos.js.stream_info(stream), 2)
            if info.cluster and info.cluster.leader:
                return info.cluster.leader
        await asyncio.sleep(0.2)
    return None


async def no_fault(chaos: Chaos, probe: Probe) -> None:
    return None


REPLICATED = {"objectives": 2, "kpis": 2, "progress": 2, "webhooks": 2, "gateway": 2}

SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "progress-worker-killed",
            "a progress worker SIGKILLed twice mid-batch (committed, not acknowledged)",
            kill_progress_worker,
            failpoints=("progress-1", "consumer.progress-kpi-events.before_ack=2"),
        ),
        Scenario(
            "kpis-killed",
            "the KPIs service SIGKILLed mid-batch (committed, not acknowledged)",
            kill_kpis,
            failpoints=("kpis-1", "consumer.kpis-ingest.before_ack=2"),
        ),
        Scenario(
            "objectives-relay-killed",
            "the objectives service SIGKILLed between commit and publish, then between "
            "publish and marking sent, while objectives are created",
            kill_objectives_relay,
            failpoints=("objectives-1", "outbox.objectives.before_publish=2"),
            keeps_creating=True,
        ),
        Scenario("nats-restarted", "NATS SIGKILLed and started on the same store", restart_nats),
        Scenario(
            "postgres-restarted",
            "PostgreSQL stopped at once (crash recovery at start) and started again",
            restart_postgres,
        ),
        Scenario(
            "nats-node-lost",
            "a 3-node NATS cluster, streams with 3 replicas; the KPI_VALUES leader SIGKILLed",
            lose_a_cluster_node,
            cluster=True,
        ),
        Scenario(
            "every-service-replicated",
            "two replicas of every service; one of each SIGKILLed at once under load",
            kill_one_replica_of_each,
            replicas=REPLICATED,
        ),
        Scenario(
            "hostile-input",
            "10,000 malformed and hostile messages among the valid values",
            no_fault,
            fuzzed=True,
        ),
        Scenario(
            openapi.NAME,
            "Schemathesis requests from the gateway's OpenAPI document, with a valid token",
            no_fault,
            long=True,
            runs_itself=openapi.run,
        ),
        Scenario(
            compose_topology.NAME,
            "compose.yaml's processes on loopback: a value from NATS to the company over REST, "
            "then the KPI_VALUES leader node and a progress replica SIGKILLed",
            no_fault,
            runs_itself=compose_topology.run,
        ),
        Scenario(
            webhooks.NAME,
            "webhooks to a receiver that is down for a while and answers 500 to a fifth of the "
            "requests; a delivery worker SIGKILLed twice at its worst moments",
            no_fault,
            long=True,  # a minute even quick: the default suite keeps to its ten minutes
            runs_itself=webhooks.run,
        ),
    )
}


async def run(scenario: Scenario, quick: bool, seed: int = 1) -> verdict.Verdict:
    if scenario.runs_itself:
        return await scenario.runs_itself(quick)
    size = Size.of(quick)
    async with harness.started(cluster=scenario.cluster, replicas=scenario.replicas) as chaos:
        world = await chaos.build_world()
        if scenario.failpoints:
            await chaos.arm(*scenario.failpoints)
        stream = workload.value_stream(world.kpi_ids, size.values, seed)
        bad: list[workload.Message] = []
        if scenario.fuzzed:
            bad, carried = fuzz.messages(size.fuzz_messages, world.kpi_ids, seed)
            stream.values.update(carried)
        messages = _interleave(stream.messages, bad, seed)
        hr = await nats.connect(
            chaos.endpoints.hr_nats_url.split(","),
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            error_cb=quiet,
        )
        publisher = workload.Publisher(hr.jetstream(), size.rate_per_s)
        prober = Probe(chaos)
        stop_creating = asyncio.Event()
        try:
            load = asyncio.create_task(publisher.publish_all(messages))
            creating = (
                asyncio.create_task(_keep_creating(chaos, stop_creating))
                if scenario.keeps_creating
                else None
            )
            recovery = await scenario.fault(chaos, prober)
            await load
            stop_creating.set()
            if creating:
                await creating
        finally:
            await hr.close()
        await verdict.quiet(chaos.js, chaos.engine, timeout_s=180)
        accepted = publisher.accepted_keys(messages)
        result = verdict.Verdict(scenario.name, recovery_s=recovery, notes=list(chaos.notes))
        result.unacknowledged = len(publisher.unacked)
        if scenario.fuzzed:
            _crash_check(chaos, result, len(bad))
        return await verdict.judge(
            result,
            chaos.js,
            chaos.engine,
            sent={**stream.values, **prober.sent},
            # The publisher retries each message until acknowledged: all its values are owed.
            # The probe tries each value once (it measures recovery): only what was accepted.
            owed=set(stream.values) | prober.acked,
            accepted=accepted | prober.acked,
            latest={**stream.latest(accepted), **prober.latest()},
            expected_letters={m.msg_id for m in bad},
        )


def _crash_check(chaos: Chaos, result: verdict.Verdict, bad: int) -> None:
    if chaos.exits:
        names = ", ".join(f"{name} (exit {code})" for name, code, _ in chaos.exits)
        result.notes.append(f"FAILED: crashed: {names}")
    else:
        result.notes.append(f"{bad:,} bad messages, each dead-lettered with a reason; no crash")


def _interleave(
    good: list[workload.Message], bad: list[workload.Message], seed: int
) -> list[workload.Message]:
    if not bad:
        return good
    mixed = good + bad
    random.Random(seed).shuffle(mixed)
    return mixed


async def _keep_creating(chaos: Chaos, stop: asyncio.Event) -> None:
    """New people under the teams, each linked to a KPI; refused while the service is down."""
    rng = random.Random(3)
    n = 0
    while not stop.is_set():
        n += 1
        with contextlib.suppress(httpx.HTTPError):
            person = await chaos.objective(f"New {n}", "individual", rng.choice(chaos.world.teams))
            await chaos.link(person, rng.choice(chaos.world.kpi_ids), rng.choice((0.5, 1.0)))
        await asyncio.sleep(0.05)


def did_not_finish(scenario: Scenario, err: Exception) -> verdict.Verdict:
    result = verdict.Verdict(scenario.name, requests=0 if scenario.runs_itself else None)
    result.notes.append(f"FAILED: did not finish: {err}")
    return result
