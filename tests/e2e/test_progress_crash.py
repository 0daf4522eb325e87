"""Killing a progress worker with a batch in hand loses nothing and the result is still exact:
two worker processes roll up a random world while events pour in, and one of them dies twice
at a failpoint, each time after a batch's transaction committed and before the batch was
acknowledged: that batch comes back to be applied a second time, and what the worker had
received and not yet handled comes back after the consumer's ack_wait. Every objective's stored
progress must still equal a recompute from scratch."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
from pathlib import Path

import nats
from sqlalchemy import text

from okr_progress.handlers import KPI_EVENTS_CONSUMER, OBJECTIVE_EVENTS_CONSUMER
from okr_shared.db import make_engine
from okr_shared.streams import ensure_streams
from tests.e2e.conftest import start
from tests.integration.test_rollup_oracle import drained
from tests.support.system import eventually
from tests.support.world_model import build

# Where worker 0 dies: in the first round, the first batch of KPI events it handles; in the
# second, the first batch of objective events.
KILLS = (
    f"consumer.{KPI_EVENTS_CONSUMER}.before_ack",
    f"consumer.{OBJECTIVE_EVENTS_CONSUMER}.before_ack",
)


async def killed_at(worker: subprocess.Popen[bytes], log: Path, failpoint: str) -> None:
    """Wait for `worker` to die at `failpoint`, and check that it died there, with a committed
    batch not yet acknowledged, and not somewhere else or of something else."""
    for _ in range(300):
        if worker.poll() is not None:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"worker 0 was not killed at {failpoint} within 30 s")
    assert worker.returncode == -signal.SIGKILL, f"worker 0 exited {worker.returncode}"
    lines = await asyncio.to_thread(log.read_text)
    assert f"failpoint {failpoint} reached" in lines, f"no kill at {failpoint}"


async def test_a_killed_worker_loses_nothing(own_world: tuple[str, str], tmp_path: Path) -> None:
    nats_url, database_url = own_world
    world = build(seed=77, objectives=200, values=4000)
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await ensure_streams(js)
    logs = [tmp_path / f"progress-{n}.log" for n in range(2)]
    workers = [
        start("okr_progress", nats_url, database_url, logs[0], failpoints=f"{KILLS[0]}=1"),
        start("okr_progress", nats_url, database_url, logs[1]),
    ]

    async def both_up() -> bool:
        with contextlib.suppress(Exception):
            replies = 0
            inbox = client.new_inbox()
            sub = await client.subscribe(inbox)
            await client.publish("rpc.ping", b"{}", reply=inbox)
            with contextlib.suppress(Exception):
                while True:
                    await sub.next_msg(timeout=0.3)
                    replies += 1
            await sub.unsubscribe()
            return replies >= 2
        return False

    try:
        await eventually(both_up, timeout_s=30)
        rng = random.Random(7)
        messages = list(world.events) + rng.sample(world.events, len(world.events) // 10)
        rng.shuffle(messages)
        chunk = len(messages) // 3
        for part in range(3):
            await asyncio.gather(
                *(
                    js.publish(subject, event.model_dump_json().encode())
                    for subject, event in messages[
                        part * chunk : (part + 1) * chunk if part < 2 else None
                    ]
                )
            )
            if part < 2:
                await killed_at(workers[0], logs[0], KILLS[part])
                logs[0].rename(tmp_path / f"progress-0-killed-{part}.log")
                armed = f"{KILLS[part + 1]}=1" if part == 0 else ""
                workers[0] = start(
                    "okr_progress", nats_url, database_url, logs[0], failpoints=armed
                )
                await eventually(both_up, timeout_s=30)  # each part goes to both workers

        async def done() -> bool:
            return await drained(js)

        # Redeliveries of what the killed worker held wait out the consumer's ack_wait (10 s).
        await eventually(done, timeout_s=120)
        engine = make_engine(database_url, pool_size=1)
        async with engine.connect() as db:
            stored = {
                r.id: r.progress
                for r in await db.execute(text("SELECT id, progress FROM progress.objectives"))
            }
        await engine.dispose()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        await client.close()
    expected = world.rollup()
    wrong = {
        o: (stored.get(o), v)
        for o, v in expected.items()
        if stored.get(o) is None or abs(stored[o] - v) > 1e-9
    }
    assert not wrong, f"{len(wrong)} differ, e.g. {list(wrong.items())[:5]}"
