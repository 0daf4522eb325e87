"""Killing a progress worker mid-batch loses nothing and the result is still exact: two worker
processes roll up a random world, one is SIGKILLed twice while events pour in, and every
objective's stored progress still equals a recompute from scratch."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from pathlib import Path

import nats
from sqlalchemy import text

from okr_shared.db import make_engine
from okr_shared.streams import ensure_streams
from tests.e2e.conftest import start
from tests.integration.test_rollup_oracle import drained
from tests.support.system import eventually
from tests.support.world_model import build


async def test_a_killed_worker_loses_nothing(own_world: tuple[str, str], tmp_path: Path) -> None:
    nats_url, database_url = own_world
    world = build(seed=77, objectives=200, values=4000)
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await ensure_streams(js)
    workers = [
        start("okr_progress", nats_url, database_url, tmp_path / f"progress-{n}.log")
        for n in range(2)
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
                await asyncio.sleep(0.2)  # mid-batch, most likely
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                workers[0] = start(
                    "okr_progress", nats_url, database_url, tmp_path / "progress-0.log"
                )

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
