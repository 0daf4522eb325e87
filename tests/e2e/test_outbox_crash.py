"""The outbox survives its process being killed: the objectives service runs as a process of
its own (on a NATS server and database of its own, so no other relay can help), requests keep
coming, and it is SIGKILLed three times, wherever it is: committing, publishing, marking sent.
Afterwards every objective that committed has exactly one objective.created in the stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import nats
from sqlalchemy import text

from okr_shared import subjects
from okr_shared.db import make_engine
from tests.e2e.conftest import start
from tests.support.system import eventually

CREATE = {
    "actor": {"user_id": 1, "role": "admin"},
    "data": {"title": "crash test", "level": "company", "year": 2026},
    "owner_id": 1,
    "owner_department": None,
}


def start_service(nats_url: str, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    return start("okr_objectives", nats_url, database_url, log)


async def test_killed_relay_loses_nothing_and_duplicates_nothing(
    own_world: tuple[str, str], tmp_path: Path
) -> None:
    nats_url, database_url = own_world
    client = await nats.connect(nats_url)
    log = tmp_path / "objectives.log"

    async def up() -> bool:
        with contextlib.suppress(Exception):
            await client.request(subjects.rpc_ping("objectives"), b"{}", timeout=0.5)
            return True
        return False

    async def keep_creating(stop: asyncio.Event) -> None:
        body = json.dumps(CREATE).encode()
        while not stop.is_set():
            with contextlib.suppress(Exception):  # while the service is down nobody answers
                await asyncio.gather(
                    *(
                        client.request(subjects.RPC_OBJECTIVES_CREATE, body, timeout=2)
                        for _ in range(10)
                    )
                )

    service = start_service(nats_url, database_url, log)
    try:
        await eventually(up, timeout_s=30)
        for _ in range(3):
            stop = asyncio.Event()
            creating = asyncio.create_task(keep_creating(stop))
            await asyncio.sleep(0.8)
            service.send_signal(signal.SIGKILL)
            service.wait()
            stop.set()
            await creating
            service = start_service(nats_url, database_url, log)
            await eventually(up, timeout_s=30)

        engine = make_engine(database_url, pool_size=1)

        async def all_sent() -> bool:
            async with engine.connect() as db:
                return not await db.scalar(
                    text("SELECT count(*) FROM objectives.outbox WHERE published_at IS NULL")
                )

        await eventually(all_sent, timeout_s=30)
        async with engine.connect() as db:
            committed = set(
                (await db.execute(text("SELECT id FROM objectives.objectives"))).scalars()
            )
        await engine.dispose()
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)

    published: Counter[int] = Counter()
    subscription = await client.jetstream().pull_subscribe(
        subjects.OBJECTIVE_CREATED, stream="OBJECTIVES"
    )
    while True:
        try:
            batch = await subscription.fetch(1000, timeout=1)
        except nats.errors.TimeoutError:
            break
        for msg in batch:
            published[json.loads(msg.data)["objective"]["id"]] += 1
    await client.close()

    assert len(committed) > 30, "too few objectives were created to say anything"
    assert set(published) == committed  # nothing lost, nothing invented
    assert max(published.values()) == 1  # nothing twice
