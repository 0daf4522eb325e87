"""A flood of wrong sign-ins slows sign-in and nothing else (issue 13, a probe defect: 32 parallel
wrong sign-ins made `/ready` answer 503 and a GET of an objective take 6 s, because each sign-in
held a pooled database connection through its argon2 check)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.objectives import make
from tests.support.system import RunningSystem

FLOOD = 32  # parallel wrong sign-ins, each from an address and for a username of its own
# A read that waits for the flood takes most of it (the old code: 6.5 s of an 8 s flood here);
# one served beside it takes a small share however loaded the machine is (0.02 to 1.6 s of a
# 6 to 30 s flood on a 2-core machine that other test runs share). So the bound is a share
# of the flood's own length, which slows with the machine as the reads do.
SLOWEST_SHARE = 0.25


@pytest.fixture
async def attackers(system: RunningSystem) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients from distinct addresses, so that no per-address throttle cuts the flood short:
    every sign-in of it gets as far as the password check."""
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=system.app, client=(f"198.51.100.{i + 1}", 40000)),
            base_url="http://okr.test",
        )
        for i in range(FLOOD)
    ]
    yield clients
    for client in clients:
        await client.aclose()


async def test_a_flood_of_wrong_sign_ins_leaves_reads_and_readiness_fast(
    system: RunningSystem, attackers: list[httpx.AsyncClient]
) -> None:
    objective = await make(system, title="Read during a flood", level="company")
    prefix = f"flood-{secrets.token_hex(3)}"
    flood = [
        asyncio.create_task(
            client.post(
                "/api/v1/auth/login",
                data={"username": f"{prefix}-{i}", "password": "not-the-password"},
            )
        )
        for i, client in enumerate(attackers)
    ]
    reads: list[float] = []
    readiness: list[int] = []
    flood_started = time.perf_counter()
    while not all(task.done() for task in flood):
        started = time.perf_counter()
        got = await system.client.get(
            f"/api/v1/objectives/{objective['id']}", headers=system.admin_headers
        )
        ready = await system.client.get("/ready")
        reads.append(time.perf_counter() - started)
        readiness.append(ready.status_code)
        assert got.status_code == 200, got.text
    answers = await asyncio.gather(*flood)
    flood_s = time.perf_counter() - flood_started
    assert {a.status_code for a in answers} <= {401, 429}, [a.text for a in answers]
    assert sum(a.status_code == 401 for a in answers) >= FLOOD // 2  # most reached the hash
    assert len(reads) >= 3, f"the flood was over after {len(reads)} reads: {reads}"
    assert max(reads) < SLOWEST_SHARE * flood_s, f"reads during a {flood_s:.1f} s flood: {reads}"
    assert set(readiness) == {200}, readiness
