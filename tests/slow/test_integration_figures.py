"""The figures docs/ARCHITECTURE.md gives for integrations' NATS identities, measured on the
embedded server: connect time through the gateway's auth callout (against the shared `hr` user,
which the server checks itself), and the time from `DELETE /api/v1/integrations/{id}` to the
integration's open connection being closed. Run with
`./okr test --no-lint -m slow tests/slow/test_integration_figures.py -s`."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time

import nats
import pytest

from okr_shared.embedded import EmbeddedNats
from tests.support.system import RunningSystem

CONNECTS = 50
REVOCATIONS = 10


async def connect_ms(url: str, **options: object) -> float:
    started = time.perf_counter()
    client = await nats.connect(url, **options)  # type: ignore[arg-type]
    took = (time.perf_counter() - started) * 1000
    await client.close()
    return took


async def create(system: RunningSystem) -> dict[str, str]:
    response = await system.client.post(
        "/api/v1/integrations",
        json={"name": f"fig-{secrets.token_hex(3)}"},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.slow
async def test_connect_and_revocation_times(guarded: tuple[RunningSystem, EmbeddedNats]) -> None:
    system, server = guarded
    made = await create(system)
    through_callout = [
        await connect_ms(made["nats_url"], inbox_prefix=made["inbox_prefix"])
        for _ in range(CONNECTS)
    ]
    as_hr = [await connect_ms(server.url_for("hr")) for _ in range(CONNECTS)]
    cut: list[float] = []
    answered: list[float] = []
    for _ in range(REVOCATIONS):
        one = await create(system)
        closed = asyncio.Event()
        closed_at: list[float] = []

        async def on_closed(event: asyncio.Event = closed, at: list[float] = closed_at) -> None:
            at.append(time.perf_counter())
            event.set()

        client = await nats.connect(
            one["nats_url"],
            inbox_prefix=one["inbox_prefix"],
            allow_reconnect=False,
            closed_cb=on_closed,
        )
        started = time.perf_counter()
        response = await system.client.delete(
            f"/api/v1/integrations/{one['id']}", headers=system.admin_headers
        )
        assert response.status_code == 200, response.text
        answered.append((time.perf_counter() - started) * 1000)
        await asyncio.wait_for(closed.wait(), timeout=5)
        cut.append((closed_at[0] - started) * 1000)
        await client.close()
    print(
        f"\nconnect through the auth callout: median {statistics.median(through_callout):.1f} ms, "
        f"max {max(through_callout):.1f} ms ({CONNECTS} connects)"
        f"\nconnect as hr (no callout): median {statistics.median(as_hr):.1f} ms, "
        f"max {max(as_hr):.1f} ms"
        f"\nDELETE to connection closed: median {statistics.median(cut):.0f} ms, "
        f"max {max(cut):.0f} ms ({REVOCATIONS} revocations); the DELETE answers after "
        f"{statistics.median(answered):.0f} ms (median: it waits for every server's answer)"
    )
    assert max(cut) < 5000
