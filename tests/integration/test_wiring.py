"""How the processes find each other: pings, error replies, readiness, a missing service."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from okr_cli import probe
from okr_gateway.main import create_app
from okr_gateway.settings import GatewaySettings
from okr_shared import subjects
from okr_shared.contracts.endpoint import REFUSED
from okr_shared.embedded import EmbeddedNats, free_port
from tests.support.held_work import unpublished, work_held_in_kpis
from tests.support.kpis import make_kpi
from tests.support.system import RunningSystem, eventually


async def test_each_service_answers_a_ping_with_its_name_and_version(system: RunningSystem) -> None:
    client = await nats.connect(system.nats_url)
    try:
        for service in ("objectives", "kpis", "progress", "gateway"):
            reply = await client.request(subjects.rpc_ping(service), b"{}", timeout=2)
            assert REFUSED not in (reply.headers or {}), reply.data
            info = json.loads(reply.data)
            assert info["service"] == service
            assert info["version"] == "0.1.0"
            assert info["instance"] == f"{service}-test"
    finally:
        await client.close()


async def test_each_instance_reports_its_consumers_lag_and_outbox_backlog(
    system: RunningSystem,
) -> None:
    """Over NATS, as `okr status` asks, while the KPIs service holds known work back: figures
    read off an idle system would be 0 whether or not anything looked."""
    kpi = await make_kpi(system, title="Held back")
    async with work_held_in_kpis(system, kpi["id"]) as held:
        statuses = await probe.status_all(system.nats_url)
        others = {s: await unpublished(system.engine, s) for s in ("objectives", "progress")}
    assert {s.durable for s in statuses["kpis-test"].consumers} == {"kpis-ingest"}
    assert {s.durable for s in statuses["progress-test"].consumers} == {
        "progress-objective-events",
        "progress-kpi-events",
    }
    assert {s.durable for s in statuses["objectives-test"].consumers} == {"objectives-progress"}
    (ingest,) = statuses["kpis-test"].consumers
    assert (ingest.pending, ingest.unacknowledged) == (held.pending, held.unacknowledged)
    assert statuses["kpis-test"].outbox_backlog == held.unpublished
    assert statuses["objectives-test"].outbox_backlog == others["objectives"]
    assert statuses["progress-test"].outbox_backlog == others["progress"]


async def test_a_malformed_request_gets_an_error_reply_not_a_timeout(system: RunningSystem) -> None:
    client = await nats.connect(system.nats_url)
    try:
        replies = [
            await client.request(subjects.RPC_OBJECTIVES_GET, b"garbage", timeout=2),
            await client.request(
                subjects.RPC_OBJECTIVES_GET,
                b"{bad json",
                timeout=2,
                headers={"content-type": "application/json"},
            ),
            await client.request(subjects.RPC_OBJECTIVES_GET, b'{"actor": 1}', timeout=2),
        ]
    finally:
        await client.close()
    for reply in replies:
        assert reply.headers[REFUSED] == "invalid"
        error = json.loads(reply.data)
        assert error["code"] == "invalid"
        assert error["message"] == "malformed request"


async def test_relay_republishing_after_a_crash_adds_no_duplicate(system: RunningSystem) -> None:
    """A relay that dies between publish and "mark sent" publishes again on restart; the
    event id as Nats-Msg-Id makes JetStream drop the copy."""
    created = await system.client.post(
        "/api/v1/objectives",
        json={"title": "Dedup", "level": "company", "year": 2026},
        headers=system.admin_headers,
    )
    objective_id = created.json()["id"]
    client = await nats.connect(system.nats_url)
    js = client.jetstream()

    async def sent() -> bool:
        async with system.engine.connect() as db:
            return bool(
                await db.scalar(
                    text(
                        "SELECT count(*) FROM objectives.outbox WHERE published_at IS NOT NULL "
                        "AND convert_from(payload, 'UTF8') LIKE :needle"
                    ),
                    {"needle": f'%"id":{objective_id},%'},
                )
            )

    try:
        await eventually(sent)
        before = (await js.stream_info(subjects.OBJECTIVES.name)).state.messages
        async with system.engine.begin() as db:
            await db.execute(
                text(
                    "UPDATE objectives.outbox SET published_at = NULL "
                    "WHERE convert_from(payload, 'UTF8') LIKE :needle"
                ),
                {"needle": f'%"id":{objective_id},%'},
            )
        await eventually(sent)
        after = (await js.stream_info(subjects.OBJECTIVES.name)).state.messages
    finally:
        await client.close()
    assert after == before


async def test_ready_is_503_while_nats_or_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = GatewaySettings(
        nats_url=f"nats://127.0.0.1:{free_port()}",
        database_url=f"postgresql://okr:x@127.0.0.1:{free_port()}/okr",
        data_dir=tmp_path,
        jwt_secret=secrets.token_urlsafe(40),
    )
    app = create_app(settings)
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        assert (await http.get("/health")).status_code == 200
        response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"started": False, "nats": False, "database": False},
        "read_model": "warming",
    }


@contextlib.asynccontextmanager
async def another_gateway(
    system: RunningSystem, tmp_path: Path, **settings: Any
) -> AsyncIterator[AsyncClient]:
    """A second gateway on the system's database and tokens, with some settings of its own,
    once it is ready."""
    app = create_app(
        GatewaySettings(
            **{
                "nats_url": system.nats_url,
                "database_url": system.database_url,
                "data_dir": tmp_path,
                "jwt_secret": system.app.state.gateway.tokens.secret,
                **settings,
            }
        )
    )
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):

        async def ready() -> bool:
            return (await http.get("/ready")).status_code == 200

        await eventually(ready)
        yield http


async def test_a_service_that_does_not_answer_is_a_clear_503(
    system: RunningSystem, tmp_path: Path
) -> None:
    """A gateway on a NATS server where no objectives service listens."""
    lonely = EmbeddedNats(tmp_path / "nats", port=free_port())
    lonely.start()
    try:
        async with another_gateway(
            system, tmp_path, nats_url=lonely.url, rpc_timeout_s=0.5
        ) as http:
            response = await http.get("/api/v1/objectives/1", headers=system.admin_headers)
    finally:
        lonely.stop()
    assert response.status_code == 503
    assert response.json()["detail"] == "the objectives service did not answer; try again shortly"


async def test_writes_beyond_the_limit_get_429_with_retry_after(
    system: RunningSystem, tmp_path: Path
) -> None:
    user, headers = await system.user("employee")
    async with another_gateway(system, tmp_path, writes_per_minute=3) as http:
        body = {"title": "Mine", "level": "individual", "year": 2026}
        accepted = 0
        for _ in range(8):  # 3 a minute: the 4th is refused, or the 7th if a minute turned over
            limited = await http.post("/api/v1/objectives", json=body, headers=headers)
            if limited.status_code != 201:
                break
            accepted += 1
        reads = await http.get("/api/v1/objectives", headers=headers)
    assert accepted in (3, 4, 5, 6)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["code"] == "rate_limited"
    assert reads.status_code == 200  # reads are not limited
    assert user["id"]
