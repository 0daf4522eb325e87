"""This machine's raw limits, measured in the same run: the figures are read against them."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import nats
from nats.js.api import StreamConfig

from okr_shared.db import libpq_url


async def nats_pull_raw(nats_url: str, messages: int) -> float:
    """Messages per second through a bare nats-py pull consumer (publishing is not timed)."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_stream(StreamConfig(name="BENCH_RAW", subjects=["bench.raw"]))
    try:
        body = b'{"value": 1}'
        for start in range(0, messages, 1000):
            await asyncio.gather(
                *(js.publish("bench.raw", body) for _ in range(min(1000, messages - start)))
            )
        sub = await js.pull_subscribe("bench.raw", durable="bench-raw", stream="BENCH_RAW")
        received, started = 0, time.perf_counter()
        while received < messages:
            batch = await sub.fetch(500, timeout=5)
            for msg in batch:
                await msg.ack()
            received += len(batch)
        return received / (time.perf_counter() - started)
    finally:
        await js.delete_stream("BENCH_RAW")
        await client.close()


async def pg_commit_raw(database_url: str, seconds: float) -> float:
    """Single-row commits per second with asyncpg, one connection."""
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        await connection.execute("CREATE TEMP TABLE bench_raw (id bigserial primary key, v int)")
        commits, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            async with connection.transaction():
                await connection.execute("INSERT INTO bench_raw (v) VALUES (1)")
            commits += 1
        return commits / (time.perf_counter() - started)
    finally:
        await connection.close()
