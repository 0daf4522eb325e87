"""Chaos: the NATS server is SIGKILLed under load and started again on the same store and port.
Every service reconnects by itself (pull consumers included) and every accepted value is stored
exactly once. Run with `./okr chaos` (or `./okr test -m chaos`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from pathlib import Path

import nats
import pytest
from sqlalchemy import text

from okr_shared import subjects
from okr_shared.db import make_engine
from okr_shared.embedded import EmbeddedNats, free_port
from tests.e2e.conftest import start
from tests.support.system import eventually

VALUES = 2000


@pytest.mark.chaos
@pytest.mark.timeout(300)
async def test_services_ride_out_a_nats_restart(
    servers: object, own_world: tuple[str, str], tmp_path: Path
) -> None:
    _, database_url = own_world
    server = EmbeddedNats(tmp_path / "nats", port=free_port())
    server.start()
    log = tmp_path / "services.log"
    services = [
        start(module, server.url, database_url, log) for module in ("okr_kpis", "okr_progress")
    ]
    client = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:

        async def up() -> bool:
            with contextlib.suppress(Exception):
                await client.request(subjects.rpc_ping("kpis"), b"{}", timeout=0.5)
                await client.request(subjects.rpc_ping("progress"), b"{}", timeout=0.5)
                return True
            return False

        await eventually(up, timeout_s=30)
        create = {
            "actor": {"user_id": 1, "role": "admin"},
            "owner_id": 1,
            "owner_department": None,
            "data": {"title": "Chaos", "target_value": VALUES, "year": 2026},
        }
        reply = await client.request(
            subjects.RPC_KPIS_CREATE, json.dumps(create).encode(), timeout=5
        )
        kpi_id = json.loads(reply.data)["result"]["id"]
        js = client.jetstream()
        accepted: set[int] = set()

        async def publish(first: int, last: int) -> None:
            for n in range(first, last):
                with contextlib.suppress(Exception):  # while NATS is down nothing is accepted
                    await js.publish(
                        subjects.kpi_value_subject(kpi_id),
                        json.dumps({"value": n + 1}).encode(),
                        headers={"Nats-Msg-Id": f"chaos-{n}"},
                        timeout=1,
                    )
                    accepted.add(n)

        await publish(0, VALUES // 2)
        server.kill()  # SIGKILL, mid-stream
        await asyncio.sleep(1.0)
        server.start()  # the same store and port
        await eventually(up, timeout_s=10)  # every service is back within 10 s, by itself
        await publish(VALUES // 2, VALUES)

        engine = make_engine(database_url, pool_size=1)

        async def all_stored() -> bool:
            async with engine.connect() as db:
                return await db.scalar(text("SELECT count(*) FROM kpis.kpi_values")) == len(
                    accepted
                )

        await eventually(all_stored, timeout_s=60)
        async with engine.connect() as db:
            distinct = await db.scalar(
                text("SELECT count(DISTINCT idempotency_key) FROM kpis.kpi_values")
            )
        await engine.dispose()
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        for service in services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.wait(timeout=30)
        await client.close()
        server.stop()
    assert len(accepted) >= VALUES * 0.9  # the values published while NATS was up
    assert distinct == len(accepted)
