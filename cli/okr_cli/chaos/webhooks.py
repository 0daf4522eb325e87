"""The webhooks scenario: a receiver on loopback subscribed to every event type, down for a
while and answering 500 to a fifth of the requests, while a delivery worker is SIGKILLed twice
at its worst moments (a POST answered and not yet recorded; deliveries committed and their
events not yet acknowledged). Every event owed must reach the receiver, signed.

What is owed is read back from the streams, independently of the service: every objective
event of a subscribed type in OBJECTIVES, every update in PROGRESS, every dead letter in
KPI_VALUES_DLQ, each as its `webhook-id` (`msg_` and the event's id). Delivered is the distinct
webhook-ids the receiver accepted (a valid signature, answered 2xx). At least once: a delivery
that arrives again is counted, not failed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime

import nats
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_cli.chaos import harness, verdict, workload
from okr_cli.chaos.harness import Chaos, Probe
from okr_cli.probe import quiet
from okr_cli.receiver import Receiver
from okr_cli.supervisor import Child
from okr_shared import subjects
from okr_shared.contracts.webhooks import WebhookEventType, webhook_id

NAME = "webhooks-delivered"
PATH = "/chaos"
ENV = {
    "OKR_WEBHOOKS_ALLOW_PRIVATE": "1",  # the receiver listens on loopback
    "OKR_WEBHOOKS_RETRY_BASE_S": "0.5",  # retries within seconds, not minutes
    "OKR_WEBHOOKS_RETRY_MAX_S": "4",
    "OKR_WEBHOOKS_TIMEOUT_S": "2",  # leases of 14 s: a killed worker's deliveries return soon
}
FAIL_SHARE = 0.2
KILLS = ("webhooks.delivery.after_send=100", "consumer.webhooks-progress.before_ack=5")
KILLED = -9
REFUSED = 25  # values to a KPI that does not exist: owed as kpi.value_rejected
UNKNOWN_KPI = 999_999_999
OBJECTIVE_TYPES = {t.value for t in WebhookEventType if t.name.startswith("OBJECTIVE_")}


async def run(quick: bool, seed: int = 1) -> verdict.Verdict:
    values, rate, down_s = (3_000, 500.0, 5.0) if quick else (20_000, 1_000.0, 15.0)
    receiver = Receiver(fail_share=FAIL_SHARE, seed=seed)
    await receiver.start()
    try:
        async with harness.started(replicas={"progress": 2, "webhooks": 2}, env=ENV) as chaos:
            await _subscribe(chaos, receiver)
            world = await chaos.build_world()
            await _change_the_tree(chaos)
            _kill_twice(chaos)
            await chaos.arm("webhooks-1", KILLS[0])
            stream = workload.value_stream(world.kpi_ids, values, seed)
            refused = _refused_values(seed)
            messages = _spread(stream.messages, refused, seed)
            hr = await nats.connect(
                chaos.endpoints.hr_nats_url.split(","),
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.2,
                error_cb=quiet,
            )
            publisher = workload.Publisher(hr.jetstream(), rate)
            prober = Probe(chaos)
            steady = asyncio.Event()
            try:
                load = asyncio.create_task(publisher.publish_all(messages))
                # Events keep coming until the worker has died twice, however long the load.
                keep = asyncio.create_task(_keep_publishing(prober, steady))
                _, killed_at = await asyncio.gather(
                    _down_for_a_while(receiver, after_s=1.0, for_s=down_s),
                    _died(chaos, "webhooks-1", times=2),
                )
                steady.set()
                await keep
                recovery = await prober.recovery_s(killed_at)
                await load
            finally:
                steady.set()
                await hr.close()
            await verdict.quiet(chaos.js, chaos.engine, timeout_s=180)
            drained_s = await _drained(chaos.engine, timeout_s=180)
            accepted = publisher.accepted_keys(messages)
            result = verdict.Verdict(NAME, recovery_s=recovery, notes=list(chaos.notes))
            result.unacknowledged = len(publisher.unacked)
            await verdict.judge(
                result,
                chaos.js,
                chaos.engine,
                sent={**stream.values, **prober.sent},
                owed=set(stream.values) | prober.acked,
                accepted=accepted | prober.acked,
                latest={**stream.latest(accepted), **prober.latest()},
                expected_letters={m.msg_id for m in refused},
            )
            await judge_webhooks(result, chaos.js, receiver)
            result.notes.append(
                f"receiver down {down_s:.0f} s, 500 to {FAIL_SHARE:.0%} of requests; "
                f"webhooks-1 SIGKILLed after a POST was answered and before it was recorded, "
                f"then after deliveries were committed and before their events were "
                f"acknowledged; the last delivery recorded {drained_s:.1f} s after the system "
                f"settled"
            )
            return result
    finally:
        await receiver.stop()


async def _subscribe(chaos: Chaos, receiver: Receiver) -> None:
    """An endpoint for every event type, before any event: everything in the streams is owed."""
    endpoint = await chaos.post(
        "/api/v1/webhooks",
        {"url": receiver.url(PATH), "events": [t.value for t in WebhookEventType]},
    )
    receiver.secrets[PATH] = str(endpoint["secret"])


async def _change_the_tree(chaos: Chaos) -> None:
    """Every kind of objective event owed: a rename, a move, a delete."""
    world = chaos.world
    renamed = await chaos.objective("Renamed soon", "individual", world.teams[1])
    response = await chaos.http.put(f"/api/v1/objectives/{renamed}", json={"title": "Renamed"})
    response.raise_for_status()
    await chaos.post(f"/api/v1/objectives/{renamed}/move", {"new_parent_id": world.teams[2]})
    gone = await chaos.objective("Deleted soon", "individual", world.teams[1])
    (await chaos.http.delete(f"/api/v1/objectives/{gone}")).raise_for_status()


def _refused_values(seed: int) -> list[workload.Message]:
    """Values the KPIs service must refuse (an unknown KPI), each with an id of its own."""
    at = datetime.now(UTC).isoformat()
    return [
        workload.Message(
            f"refused-{seed}-{n}",
            subjects.kpi_value_subject(UNKNOWN_KPI),
            json.dumps({"value": n, "observed_at": at}).encode(),
        )
        for n in range(REFUSED)
    ]


def _spread(
    good: list[workload.Message], bad: list[workload.Message], seed: int
) -> list[workload.Message]:
    rng = random.Random(seed)
    mixed = list(good)
    for message in bad:
        mixed.insert(rng.randrange(len(mixed) + 1), message)
    return mixed


def _kill_twice(chaos: Chaos) -> None:
    """After the first death at a failpoint, arm the second; after the second, none."""
    after = iter(KILLS[1:])

    def on_exit(child: Child) -> None:
        if child.instance == "webhooks-1" and child.exited() == KILLED:
            child.env["OKR_FAILPOINTS"] = next(after, "")

    chaos.on_exit = on_exit


async def _died(chaos: Chaos, instance: str, times: int, timeout_s: float = 90.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        deaths = [at for name, code, at in chaos.exits if (name, code) == (instance, KILLED)]
        if len(deaths) >= times:
            return deaths[-1]
        await asyncio.sleep(0.05)
    seen = [(name, code) for name, code, _ in chaos.exits]
    raise TimeoutError(f"{instance} did not die at its failpoints {times} times (exits: {seen})")


async def _keep_publishing(prober: Probe, stop: asyncio.Event) -> None:
    """A value to the probe KPI every 50 ms: accepted values like any, and owed."""
    n = 0
    while not stop.is_set():
        n += 1
        await prober.publish(f"steady-{n}", float(n % 97 + 1))
        await asyncio.sleep(0.05)


async def _down_for_a_while(receiver: Receiver, after_s: float, for_s: float) -> None:
    await asyncio.sleep(after_s)
    await receiver.down()
    await asyncio.sleep(for_s)
    await receiver.up()


async def _drained(engine: AsyncEngine, timeout_s: float) -> float:
    """Seconds until no delivery is pending (retries wait out their backoff; a killed worker's
    leases run out)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        async with engine.connect() as db:
            pending = await db.scalar(
                text("SELECT count(*) FROM webhooks.deliveries WHERE status = 'pending'")
            )
        if not pending:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise TimeoutError(f"webhook deliveries still pending after {timeout_s:.0f} s")


async def owed_webhook_ids(js: JetStreamContext) -> dict[str, set[str]]:
    """Every event an endpoint subscribed to everything is owed, by type, as webhook-ids."""
    owed: dict[str, set[str]] = {t.value: set() for t in WebhookEventType}
    for msg in await verdict.read_stream(js, subjects.OBJECTIVES.name):
        if msg.subject in OBJECTIVE_TYPES:
            owed[msg.subject].add(webhook_id(json.loads(msg.data)["event_id"]))
    for msg in await verdict.read_stream(js, subjects.PROGRESS.name):
        owed[WebhookEventType.OBJECTIVE_PROGRESS_CHANGED].add(
            webhook_id(json.loads(msg.data)["event_id"])
        )
    for msg in await verdict.read_stream(js, subjects.KPI_VALUES.dlq_name):
        owed[WebhookEventType.KPI_VALUE_REJECTED].add(webhook_id(msg.headers["Nats-Msg-Id"]))
    return owed


async def judge_webhooks(result: verdict.Verdict, js: JetStreamContext, receiver: Receiver) -> None:
    count_webhooks(result, await owed_webhook_ids(js), receiver)


def count_webhooks(
    result: verdict.Verdict, owed_by_type: dict[str, set[str]], receiver: Receiver
) -> None:
    """Owed against delivered, by webhook-id; lost ones count as lost, and a delivery of no
    event, a request not signed right, or no refusal owed at all fail the scenario."""
    owed = set().union(*owed_by_type.values())
    delivered = receiver.delivered_ids(PATH)
    result.webhooks_owed = len(owed)
    result.webhooks_delivered = len(owed & delivered)
    lost = owed - delivered
    result.lost += len(lost)
    if lost:
        result.notes.append(
            f"FAILED: {len(lost):,} webhooks never delivered, e.g. {sorted(lost)[:3]}"
        )
    if strangers := delivered - owed:
        result.notes.append(
            f"FAILED: {len(strangers)} webhooks of no event, e.g. {sorted(strangers)[:3]}"
        )
    if receiver.refused:
        result.notes.append(
            f"FAILED: {len(receiver.refused)} requests without a valid signature, e.g. "
            f"{receiver.refused[0]}"
        )
    if not owed_by_type[WebhookEventType.KPI_VALUE_REJECTED]:
        result.notes.append("FAILED: no value was refused, so no kpi.value_rejected was owed")
    answered_500 = sum(1 for r in receiver.received if r.answered == 500)
    counts = ", ".join(f"{len(ids):,} {kind}" for kind, ids in owed_by_type.items() if ids)
    result.notes.append(
        f"webhooks: {len(owed):,} owed ({counts}), {result.webhooks_delivered:,} delivered "
        f"(distinct webhook-ids, signatures checked), {receiver.repeats(PATH):,} delivered "
        f"again (at least once), {answered_500:,} answered 500"
    )
