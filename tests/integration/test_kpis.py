"""KPI definitions, values over REST, permissions and links, through the gateway."""

from __future__ import annotations

import json
import math
import secrets
from datetime import UTC, datetime
from typing import Any

from tests.support.kpis import history, kpi, make_kpi
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]


async def test_definition_rules(system: RunningSystem) -> None:
    created = await make_kpi(
        system, unit="EUR", direction="increase", baseline_value=10, target_value=20
    )
    assert (created["current_value"], created["progress_percentage"], created["status"]) == (
        None,
        None,
        "active",
    )
    assert created["owner_id"] and created["version"] == 1
    bad = [
        {"target_value": 5, "baseline_value": 10, "direction": "increase"},
        {"target_value": 15, "baseline_value": 10, "direction": "decrease"},
        {"target_value": math.inf},
        {"direction": "sideways"},
        {"frequency": "hourly"},
        {"title": ""},
        {"current_value": 5},  # server-controlled
    ]
    for fields in bad:
        body = json.dumps(
            {"title": "K", "target_value": 100, "year": 2026, **fields}, allow_nan=True
        )
        response = await system.client.post(
            "/api/v1/kpis",
            content=body,
            headers={**system.admin_headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, (fields, response.text)
    stale = await system.client.put(
        f"/api/v1/kpis/{created['id']}",
        json={"title": "x", "version": 7},
        headers=system.admin_headers,
    )
    assert stale.status_code == 409
    turned = await system.client.put(
        f"/api/v1/kpis/{created['id']}", json={"target_value": 5}, headers=system.admin_headers
    )
    assert turned.status_code == 422  # an increase KPI may not aim below its baseline


async def test_values_over_rest(system: RunningSystem) -> None:
    target = await make_kpi(system, direction="decrease", baseline_value=100, target_value=50)
    url = f"/api/v1/kpis/{target['id']}/values"
    first = await system.client.post(
        url, json={"value": 75}, headers={**system.admin_headers, "Idempotency-Key": "rest-1"}
    )
    again = await system.client.post(
        url, json={"value": 75}, headers={**system.admin_headers, "Idempotency-Key": "rest-1"}
    )
    assert (first.status_code, first.json()) == (202, {"event_id": "rest-1", "status": "accepted"})
    assert again.json()["status"] == "duplicate"

    async def moved() -> bool:
        return (await kpi(system, target["id"]))["progress_percentage"] == 50.0

    await eventually(moved)
    assert len(await history(system, target["id"])) == 1

    batch = await system.client.post(
        "/api/v1/kpis/values/batch",
        headers=system.admin_headers,
        json={
            "values": [
                {"kpi_id": target["id"], "value": 60, "observed_at": datetime.now(UTC).isoformat()},
                {"kpi_id": target["id"], "value": "x"},
                {"kpi_id": 987654321, "value": 1},
            ]
        },
    )
    assert batch.status_code == 202
    results = batch.json()
    assert (results["accepted"], results["rejected"]) == (1, 2)
    assert [r["status"] for r in results["results"]] == ["accepted", "rejected", "rejected"]
    assert "not found" in results["results"][2]["reason"]

    async def batch_stored() -> bool:
        return (await kpi(system, target["id"]))["current_value"] == 60

    await eventually(batch_stored)
    nan = await system.client.post(
        url,
        content=b'{"value": NaN}',
        headers={**system.admin_headers, "content-type": "application/json"},
    )
    assert nan.status_code == 422
    too_many = await system.client.post(
        "/api/v1/kpis/values/batch",
        headers=system.admin_headers,
        json={"values": [{"kpi_id": 1, "value": 1}] * 1001},
    )
    assert too_many.status_code == 422


async def test_kpi_permissions_and_links(system: RunningSystem) -> None:
    dept = f"K-{secrets.token_hex(2)}"
    owner, owner_headers = await system.user("employee", department=dept)
    _, stranger = await system.user("employee", department=dept)
    _, integration = await system.user("integration", department=None)
    mine = await make_kpi(system, owner_headers, title="Mine")
    assert mine["owner_id"] == owner["id"]
    assert (
        await system.client.get(f"/api/v1/kpis/{mine['id']}", headers=stranger)
    ).status_code == 404
    assert (
        await system.client.post(
            f"/api/v1/kpis/{mine['id']}/values", json={"value": 1}, headers=stranger
        )
    ).status_code == 404
    assert (
        await system.client.get(f"/api/v1/kpis/{mine['id']}", headers=integration)
    ).status_code == 200
    assert (
        await system.client.post(
            f"/api/v1/kpis/{mine['id']}/values", json={"value": 1}, headers=integration
        )
    ).status_code == 202
    assert (
        await system.client.post(
            "/api/v1/kpis",
            json={"title": "T", "target_value": 1, "year": 2026},
            headers=integration,
        )
    ).status_code == 403
    assert (
        await system.client.put(
            f"/api/v1/kpis/{mine['id']}", json={"title": "T"}, headers=integration
        )
    ).status_code == 403
    assert (
        await system.client.get("/api/v1/ingest/rejections", headers=owner_headers)
    ).status_code == 403

    objective = (
        await system.client.post(
            "/api/v1/objectives",
            headers=owner_headers,
            json={"title": "O", "level": "individual", "year": 2026},
        )
    ).json()
    link = await system.client.post(
        f"/api/v1/objectives/{objective['id']}/kpis",
        json={"kpi_id": mine["id"], "weight": 0.5},
        headers=owner_headers,
    )
    assert link.status_code == 201, link.text
    assert link.json()["weight"] == 0.5
    unknown = await system.client.post(
        f"/api/v1/objectives/{objective['id']}/kpis",
        json={"kpi_id": 987654321},
        headers=owner_headers,
    )
    assert unknown.status_code == 422
    linked = await system.client.get(f"/api/v1/kpis/{mine['id']}/objectives", headers=owner_headers)
    assert [o["id"] for o in linked.json()] == [objective["id"]]
    detail = (
        await system.client.get(f"/api/v1/objectives/{objective['id']}", headers=owner_headers)
    ).json()
    assert detail["kpi_count"] == 1
    unlink = await system.client.delete(
        f"/api/v1/objectives/{objective['id']}/kpis/{mine['id']}", headers=owner_headers
    )
    assert unlink.status_code == 204
    history_ = (
        await system.client.get(
            f"/api/v1/objectives/{objective['id']}/history", headers=owner_headers
        )
    ).json()
    assert [h["action"] for h in history_][:2] == ["kpi_unlinked", "kpi_linked"]
