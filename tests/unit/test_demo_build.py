"""The demo's build and run: nothing it started goes on after a failure or a Ctrl-C, what goes
wrong reaches the user as one line, and the latency figures stay bounded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from okr_cli.demo.build import (
    Builder,
    BuildFailed,
    Built,
    create_users,
    until_rollup_knows_it,
)
from okr_cli.demo.company import MIN_SIZE, plan
from okr_cli.demo.play import LATENCY_WINDOW, Board
from okr_shared.embedded import free_port


class SlowKpis(Builder):
    """Answers without a gateway: KPIs take a while, one of them is refused, and the import
    answers what it was sent."""

    def __init__(self, built: Built, refuse: str | None = None) -> None:
        super().__init__(httpx.AsyncClient(), built, 2026, lambda: None)
        self.ids = iter(range(1, 10**6))
        self.refuse = refuse
        self.kpis_running = 0
        self.kpis_started = 0
        self.imported: list[dict[str, Any]] = []

    async def post(self, path: str, body: Any) -> dict[str, Any]:
        if path == "/api/v1/objectives/import":
            self.imported = body
            created = [{"key": row["key"], "id": next(self.ids)} for row in body]
            return {"created": created, "links": sum(bool(r["kpis"]) for r in body)}
        self.kpis_started += 1
        self.kpis_running += 1
        try:
            await asyncio.sleep(0.05 if body["title"] == self.refuse else 0.5)
            if body["title"] == self.refuse:
                raise BuildFailed("POST /api/v1/kpis answered 403: no")
        finally:
            self.kpis_running -= 1
        return {"id": next(self.ids)}


def _built() -> Built:
    company = plan(MIN_SIZE, "ab12", 2026)
    return Built(company, users={p.username: n for n, p in enumerate(company.people, 1)})


async def test_a_refused_kpi_stops_the_others_and_imports_nothing() -> None:
    built = _built()
    builder = SlowKpis(built, refuse=built.company.kpis[3].title)
    with pytest.raises(BuildFailed, match="answered 403"):
        await builder.build()
    assert builder.kpis_started > 1  # they did run side by side
    assert builder.kpis_running == 0
    assert builder.imported == []


async def test_one_import_names_parents_by_key_and_the_kpis_by_id() -> None:
    built = _built()
    builder = SlowKpis(built)
    await builder.build()
    goals = built.company.goals
    assert len(builder.imported) == len(goals)
    by_key = {row["key"]: row for row in builder.imported}
    for goal in goals:
        row = by_key[str(goal.key)]
        assert row["parent"] == (None if goal.parent is None else str(goal.parent))
        linked = [f"{built.kpis[k]}:{w}" for k, w in goal.links]
        assert row["kpis"] == ";".join(linked)
    assert sorted(built.objectives) == sorted(g.key for g in goals)


async def test_a_cancelled_build_leaves_nothing_running() -> None:
    builder = SlowKpis(_built())
    building = asyncio.create_task(builder.build())
    await asyncio.sleep(0.02)
    building.cancel()
    with pytest.raises(asyncio.CancelledError):
        await building
    assert builder.kpis_started > 0
    assert builder.kpis_running == 0


async def test_a_gateway_that_does_not_answer_is_one_line() -> None:
    company = plan(MIN_SIZE, "ab12", 2026)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}") as http:
        with pytest.raises(BuildFailed, match=r"did not answer .*okr status") as failed:
            await create_users(http, company.people[:2], "secret", Built(company))
    assert "\n" not in str(failed.value)


async def test_services_that_do_not_catch_up_are_one_line() -> None:
    class Behind:
        async def consumer_info(self, stream: str, durable: str) -> Any:
            return SimpleNamespace(num_pending=1, num_ack_pending=0)

    broker = SimpleNamespace(connection=SimpleNamespace(jetstream=Behind))
    with pytest.raises(BuildFailed, match="within 0 s") as failed:
        await until_rollup_knows_it(broker, timeout_s=0.2)
    assert "\n" not in str(failed.value)


def test_the_latencies_kept_are_the_most_recent_window() -> None:
    board = Board(set())
    for ms in range(LATENCY_WINDOW + 500):
        board.record_latency(float(ms))
    assert len(board.latencies_ms) == LATENCY_WINDOW
    assert board.timed == LATENCY_WINDOW + 500
    assert board.latency_p50_p99_ms() == (500 + LATENCY_WINDOW // 2, 500 + 9_900)


def _gateway(answers: list[httpx.Response]) -> httpx.AsyncClient:
    """A gateway that gives `answers` in turn (the whole demo runs against a real one in
    tests/e2e/test_demo.py)."""
    given = iter(answers)
    return httpx.AsyncClient(
        base_url="http://gateway", transport=httpx.MockTransport(lambda _: next(given))
    )


async def test_a_rate_limited_write_waits_and_is_sent_again() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})
    http = _gateway([limited, limited, httpx.Response(201, json={"id": 7})])
    done: list[None] = []
    builder = Builder(http, _built(), 2026, lambda: done.append(None))
    assert await builder.post("/api/v1/kpis", {}) == {"id": 7}
    assert len(done) == 1


async def test_a_refused_write_names_the_route_and_the_gateways_reason() -> None:
    refused = httpx.Response(422, json={"detail": "year: must be 2000 or later"})
    builder = Builder(_gateway([refused]), _built(), 2026, lambda: None)
    with pytest.raises(BuildFailed) as failed:
        await builder.post("/api/v1/objectives", {})
    assert str(failed.value) == (
        "POST /api/v1/objectives answered 422: year: must be 2000 or later"
    )
