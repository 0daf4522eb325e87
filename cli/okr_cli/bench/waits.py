"""What the benchmark waits for: a condition, and a system that is idle (every consumer caught
up and every outbox sent), so that nothing it measures shares the machine with the work before."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from okr_cli import probe
from okr_shared.db import make_engine


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    """Until `check` says yes; one that fails counts as a no (a server still starting)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        with contextlib.suppress(Exception):
            if await check():
                return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not done within {timeout_s:.0f} s")


async def stored_values(js: Any, engine: AsyncEngine) -> tuple[int, bool]:
    """How many values are stored, and whether the system is idle: every consumer on the way
    caught up and every outbox sent (the last rollups published)."""
    async with engine.connect() as db:
        stored = int(await db.scalar(text("SELECT count(*) FROM kpis.kpi_values")) or 0)
        return stored, await _idle(js, db)


async def _idle(js: Any, db: AsyncConnection) -> bool:
    return await probe.consumers_caught_up(js) and await probe.outboxes_sent(db)


async def until_idle(nats_url: str, database_url: str, timeout_s: float = 600) -> None:
    """Until every consumer has taken every event so far and every outbox is sent (the rollups
    of a new tree, which the gateway's model takes too)."""
    client = await nats.connect(nats_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        js = client.jetstream()

        async def idle() -> bool:  # without counting the values, 20 times a second
            async with engine.connect() as db:
                return await _idle(js, db)

        await until(idle, timeout_s)
    finally:
        await engine.dispose()
        await client.close()
