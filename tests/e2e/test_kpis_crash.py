"""A kill of the KPIs service mid-batch loses nothing and stores nothing twice: values keep
arriving on JetStream while the service is SIGKILLed twice; in the end every value is stored
exactly once and the KPI shows the newest one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from sqlalchemy import text

from okr_shared import subjects
from okr_shared.db import make_engine
from tests.e2e.conftest import start
from tests.support.system import eventually

VALUES = 3000
ADMIN = {"user_id": 1, "role": "admin"}


async def test_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
    own_world: tuple[str, str], tmp_path: Path
) -> None:
    nats_url, database_url = own_world
    client = await nats.connect(nats_url)
    js = client.jetstream()
    log = tmp_path / "kpis.log"

    async def up() -> bool:
        with contextlib.suppress(Exception):
            await client.request(subjects.rpc_ping("kpis"), b"{}", timeout=0.5)
            return True
        return False

    service = start("okr_kpis", nats_url, database_url, log)
    try:
        await eventually(up, timeout_s=30)
        request = {
            "actor": ADMIN,
            "owner_id": 1,
            "owner_department": None,
            "data": {"title": "Crash", "target_value": VALUES, "year": 2026},
        }
        reply = json.loads(
            (
                await client.request(
                    subjects.RPC_KPIS_CREATE, json.dumps(request).encode(), timeout=5
                )
            ).data
        )
        kpi_id = reply["result"]["id"]
        start_at = datetime.now(UTC) - timedelta(hours=1)

        async def publish(first: int, last: int) -> None:
            for n in range(first, last):
                body = {
                    "value": n + 1,
                    "observed_at": (start_at + timedelta(seconds=n)).isoformat(),
                }
                await js.publish(
                    subjects.kpi_value_subject(kpi_id),
                    json.dumps(body).encode(),
                    headers={"Nats-Msg-Id": f"crash-{n}"},
                )

        for part in range(3):
            publishing = asyncio.create_task(publish(part * 1000, (part + 1) * 1000))
            await asyncio.sleep(0.3)
            if part < 2:
                service.send_signal(signal.SIGKILL)
                service.wait()
                await publishing
                service = start("okr_kpis", nats_url, database_url, log)
                await eventually(up, timeout_s=30)
            else:
                await publishing
        # The same values once more, with the same keys: repeats of what is stored.
        await publish(0, 200)

        engine = make_engine(database_url, pool_size=1)

        async def all_stored() -> bool:
            async with engine.connect() as db:
                return await db.scalar(text("SELECT count(*) FROM kpis.kpi_values")) == VALUES

        await eventually(all_stored, timeout_s=60)
        info = await js.consumer_info("KPI_VALUES", "kpis-ingest")
        async with engine.connect() as db:
            distinct = await db.scalar(
                text("SELECT count(DISTINCT idempotency_key) FROM kpis.kpi_values")
            )
            current = (
                await db.execute(
                    text("SELECT current_value, progress_percentage FROM kpis.kpis WHERE id = :id"),
                    {"id": kpi_id},
                )
            ).one()
        await engine.dispose()
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        await client.close()
    assert distinct == VALUES
    assert (current.current_value, current.progress_percentage) == (VALUES, 100.0)
    assert info.num_pending == 0
