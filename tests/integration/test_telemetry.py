"""Operability: one trace id follows a KPI value from the gateway through NATS into the KPIs and
progress services and their log lines; every process counts what it does for Prometheus."""

from __future__ import annotations

import json
import logging
import secrets
import sys

import httpx
import pytest
from prometheus_client import REGISTRY

from okr_kpis.ingest import CONSUMER as INGEST_CONSUMER
from okr_progress.handlers import KPI_EVENTS_CONSUMER
from okr_shared.embedded import free_port
from okr_shared.logs import JsonFormatter
from okr_shared.metrics import MetricsServer, subject_family
from okr_shared.tracing import span
from tests.support.held_work import work_held_in_kpis
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually
from tests.support.telemetry import SPANS


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def idle(system: RunningSystem) -> bool:
    lags = [
        lag
        for service in ("kpis", "progress")
        for lag in (await system.runtimes[service].status()).consumers
    ]
    return all(lag.pending == 0 and lag.unacknowledged == 0 for lag in lags)


async def linked_kpi(system: RunningSystem) -> tuple[int, int]:
    objective = await make(system, title="Traced", level="company")
    kpi = await make_kpi(system, title="Traced KPI")
    response = await system.client.post(
        f"/api/v1/objectives/{objective['id']}/kpis",
        json={"kpi_id": kpi["id"]},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text
    return objective["id"], kpi["id"]


async def test_a_values_trace_reaches_the_kpis_and_progress_services_and_their_logs(
    system: RunningSystem, caplog: pytest.LogCaptureFixture
) -> None:
    _, kpi_id = await linked_kpi(system)
    # A batch's span continues its first message's trace: let no earlier work share the batch.
    await eventually(lambda: idle(system), timeout_s=10)
    trace_id = secrets.token_hex(16)
    caplog.set_level(logging.DEBUG, logger="okr_shared.consumer")
    with SPANS.recording() as spans:
        response = await system.client.post(
            f"/api/v1/kpis/{kpi_id}/values",
            json={"value": 40},
            headers={**system.admin_headers, "traceparent": f"00-{trace_id}-{'1' * 16}-01"},
        )
        assert response.status_code == 202, response.text
        assert response.headers["x-request-id"] == trace_id

        wanted = {
            "POST /api/v1/kpis/{kpi_id}/values",
            f"consume {INGEST_CONSUMER}",
            f"consume {KPI_EVENTS_CONSUMER}",
        }

        async def all_traced() -> bool:
            traced = {s.name for s in spans if f"{s.context.trace_id:032x}" == trace_id}
            return wanted <= traced

        await eventually(all_traced, timeout_s=10)
    logged = {
        r.getMessage().split(":")[0]
        for r in caplog.records
        if getattr(r, "trace_id", "") == trace_id
    }
    assert {INGEST_CONSUMER, KPI_EVENTS_CONSUMER} <= logged


async def test_a_request_without_a_trace_starts_one_and_names_it(system: RunningSystem) -> None:
    first = await system.client.get("/api/v1/auth/me", headers=system.admin_headers)
    second = await system.client.get("/api/v1/auth/me", headers=system.admin_headers)
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 32 and int(i, 16) for i in ids)


async def test_requests_messages_and_rollups_are_counted(system: RunningSystem) -> None:
    _, kpi_id = await linked_kpi(system)
    route = "/api/v1/kpis/{kpi_id}/values"
    before = {
        "http": sample("okr_http_requests_total", method="POST", route=route, status="202"),
        # Values recorded over REST travel under the caller's prefix (kpi.values.u.<user>.<kpi>).
        "consumed": sample("okr_messages_consumed_total", subject="kpi.values.u.*.>"),
        "published": sample("okr_messages_published_total", subject="kpi.progress_changed"),
        "rollups": sample("okr_rollup_latency_seconds_count"),
        "batches": sample("okr_consumer_batch_size_count", consumer=KPI_EVENTS_CONSUMER),
    }
    response = await system.client.post(
        f"/api/v1/kpis/{kpi_id}/values", json={"value": 70}, headers=system.admin_headers
    )
    assert response.status_code == 202, response.text

    async def rolled_up() -> bool:
        return sample("okr_rollup_latency_seconds_count") > before["rollups"]

    await eventually(rolled_up, timeout_s=10)
    assert sample("okr_http_requests_total", method="POST", route=route, status="202") == (
        before["http"] + 1
    )
    assert sample("okr_messages_consumed_total", subject="kpi.values.u.*.>") > before["consumed"]
    published = sample("okr_messages_published_total", subject="kpi.progress_changed")
    assert published > before["published"]
    assert (
        sample("okr_consumer_batch_size_count", consumer=KPI_EVENTS_CONSUMER) > (before["batches"])
    )
    missing = await system.client.get("/no/such/page", headers=system.admin_headers)
    assert missing.status_code == 404
    assert sample("okr_http_requests_total", method="GET", route="unmatched", status="404") >= 1


async def test_lag_and_backlog_gauges_follow_the_services(system: RunningSystem) -> None:
    """The gauges show what NATS and the database say is waiting: while the KPIs service holds
    known work back, and again once it is done."""
    runtime = system.runtimes["kpis"]
    labels = {"stream": "KPI_VALUES", "consumer": INGEST_CONSUMER}

    def gauges() -> tuple[float, float, float]:
        return (
            sample("okr_consumer_pending", **labels),
            sample("okr_consumer_unacknowledged", **labels),
            sample("okr_outbox_backlog", schema="kpis"),
        )

    kpi = await make_kpi(system, title="Held back")
    async with work_held_in_kpis(system, kpi["id"]) as held:
        await runtime.refresh_gauges()
        assert gauges() == (held.pending, held.unacknowledged, held.unpublished)
    assert held.pending > 0 and held.unacknowledged > 0 and held.unpublished > 0

    async def drained() -> bool:
        await runtime.refresh_gauges()
        return gauges() == (0, 0, 0)

    await eventually(drained, timeout_s=10)


async def test_the_metrics_port_serves_prometheus_text() -> None:
    server = MetricsServer("127.0.0.1", free_port())
    server.start()
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert response.status_code == 200
    assert "# TYPE okr_rollup_latency_seconds histogram" in response.text
    assert "# TYPE okr_http_requests_total counter" in response.text


def test_subjects_are_counted_by_family_not_by_id() -> None:
    assert subject_family("kpi.values.42") == "kpi.values.*"
    assert subject_family("progress.objective.7") == "progress.objective.*"
    assert subject_family("kpi.values.batch") == "kpi.values.batch"
    assert subject_family("kpi.values.i.7.batch") == "kpi.values.i.*.>"
    # What a hostile sender may invent adds no series.
    assert subject_family("kpi.values.made-up-1") == "kpi.values.*"
    assert subject_family("kpi.values.a.b.c.d.e") == "kpi.values.*.*.>"


def test_json_log_lines_carry_the_trace_and_the_exception() -> None:
    formatter = JsonFormatter("kpis", "kpis-1")
    with span("unit"):
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.getLogger("okr.test").makeRecord(
                "okr.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
            )
    line = json.loads(formatter.format(record))
    assert line["message"] == "failed x"
    assert line["service"] == "kpis" and line["instance"] == "kpis-1"
    assert len(line["trace_id"]) == 32 and len(line["span_id"]) == 16
    assert "ValueError: boom" in line["exception"]


async def test_an_unexpected_error_is_answered_with_the_trace_it_is_logged_under(
    system: RunningSystem, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    system.app.add_api_route("/test/broken", broken)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(system.app, raise_app_exceptions=False),
        base_url="http://gateway",
    )
    try:
        response = await client.get("/test/broken")
    finally:
        await client.aclose()
        system.app.router.routes.pop()
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["detail"] == f"internal error (id {request_id})"
    (logged,) = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert getattr(logged, "trace_id", "") == request_id
    route = "/test/broken"
    assert sample("okr_http_requests_total", method="GET", route=route, status="500") == 1


async def test_a_request_makes_one_span_in_the_gateway(system: RunningSystem) -> None:
    """Ours. FastAPI's own OpenTelemetry layer would add spans per dependency, at a cost that
    doubled the gateway's CPU per request (docs/BENCHMARKS.md)."""
    with SPANS.recording() as spans:
        response = await system.client.get("/api/v1/auth/me", headers=system.admin_headers)
    request_id = response.headers["x-request-id"]
    assert [s.name for s in spans if f"{s.context.trace_id:032x}" == request_id] == [
        "GET /api/v1/auth/me"
    ]
