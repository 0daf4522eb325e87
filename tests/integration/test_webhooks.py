"""Webhooks out, through the REST API against the running system: endpoints registered by an
admin receive the events they subscribed to, signed per Standard Webhooks (checked by a real
receiver on loopback with the reference library), retried with the same `webhook-id`, and an
endpoint that keeps failing is disabled with its reason and can be enabled again.

The test system gives up after 4 s instead of 24 h, and retries within a second
(tests/support/system.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from okr_cli.receiver import Received, Receiver
from okr_shared import subjects
from tests.support.kpis import make_kpi
from tests.support.objectives import make, tree
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]
OBJECTIVE_EVENTS = [
    "objective.created",
    "objective.updated",
    "objective.moved",
    "objective.deleted",
]


@pytest.fixture
async def receiver(system: RunningSystem) -> AsyncIterator[Receiver]:
    """A receiver on loopback; every endpoint registered meanwhile is removed afterwards, so
    that no later test's events go to it."""
    found = Receiver()
    await found.start()
    yield found
    await found.stop()
    page = await system.client.get("/api/v1/webhooks", headers=system.admin_headers)
    for endpoint in page.json()["items"]:
        if endpoint["url"].startswith(found.url("/")):
            await system.client.delete(
                f"/api/v1/webhooks/{endpoint['id']}", headers=system.admin_headers
            )


async def register(
    system: RunningSystem, receiver: Receiver, events: list[str], path: str | None = None
) -> Json:
    path = path or f"/hooks/{secrets.token_hex(4)}"
    response = await system.client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url(path), "events": events, "description": "tests"},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text
    endpoint: Json = response.json()
    assert response.headers["Location"] == f"/api/v1/webhooks/{endpoint['id']}"
    receiver.secrets[path] = endpoint["secret"]
    endpoint["path"] = path
    return endpoint


async def arrived(
    receiver: Receiver, path: str, event_type: str, timeout_s: float = 10.0, **match: Any
) -> Received:
    """The first delivery of that type whose data has these top-level values."""

    async def found() -> Received | None:
        return next(
            (
                r
                for r in receiver.delivered(path)
                if r.event_type == event_type and all(r.data.get(k) == v for k, v in match.items())
            ),
            None,
        )

    return await eventually(found, timeout_s)


async def deliveries(system: RunningSystem, endpoint: Json) -> list[Json]:
    response = await system.client.get(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=system.admin_headers
    )
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()
    return found


async def endpoint_now(system: RunningSystem, endpoint: Json) -> Json:
    response = await system.client.get(
        f"/api/v1/webhooks/{endpoint['id']}", headers=system.admin_headers
    )
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


async def test_objective_events_arrive_signed_and_each_attempt_is_shown(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, OBJECTIVE_EVENTS)
    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
    path = endpoint["path"]
    company = await make(system, title="Hooked", level="company")
    created = await arrived(receiver, path, "objective.created")
    assert created.data["objective"]["id"] == company["id"]
    assert created.webhook_id.startswith("msg_")
    assert set(created.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(endpoint["secret"]).verify(created.body, created.headers)["type"] == (
        "objective.created"
    )
    updated = await system.client.put(
        f"/api/v1/objectives/{company['id']}",
        json={"title": "Hooked, renamed"},
        headers=system.admin_headers,
    )
    assert updated.status_code == 200, updated.text
    changed = await arrived(receiver, path, "objective.updated")
    assert changed.data["changed"] == ["title"]
    removed = await system.client.delete(
        f"/api/v1/objectives/{company['id']}", headers=system.admin_headers
    )
    assert removed.status_code == 204, removed.text
    gone = await arrived(receiver, path, "objective.deleted")
    assert [o["id"] for o in gone.data["objectives"]] == [company["id"]]
    assert receiver.refused == []

    async def all_recorded() -> list[Json] | None:
        found = await deliveries(system, endpoint)
        return found if {d["status"] for d in found} == {"delivered"} and found else None

    shown = await all_recorded() or await eventually(all_recorded)
    assert [d["event_type"] for d in shown] == [
        "objective.deleted",
        "objective.updated",
        "objective.created",
    ]
    for delivery in shown:
        (attempt,) = delivery["attempts"]
        assert attempt["outcome"] == "delivered" and attempt["response_code"] == 200
        assert attempt["latency_ms"] > 0 and attempt["error"] is None
    assert {d["webhook_id"] for d in shown} == {r.webhook_id for r in receiver.delivered(path)}


async def test_a_kpi_value_moves_an_objective_and_its_progress_change_arrives(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, ["objective.progress_changed"])
    _, _, _, person = await tree(system)
    kpi = await make_kpi(system, target_value=200)
    link = await system.client.post(
        f"/api/v1/objectives/{person['id']}/kpis",
        json={"kpi_id": kpi["id"]},
        headers=system.admin_headers,
    )
    assert link.status_code == 201, link.text
    value = await system.client.post(
        f"/api/v1/kpis/{kpi['id']}/values", json={"value": 50}, headers=system.admin_headers
    )
    assert value.status_code == 202, value.text
    update = await arrived(
        receiver,
        endpoint["path"],
        "objective.progress_changed",
        objective_id=person["id"],
        progress_percentage=25.0,
    )
    assert update.data["calculation_method"] == "kpis" and update.data["kpi_count"] == 1


async def test_a_refused_value_arrives_as_kpi_value_rejected(
    system: RunningSystem, receiver: Receiver, hr: Any
) -> None:
    endpoint = await register(system, receiver, ["kpi.value_rejected"])
    key = f"unknown-{secrets.token_hex(4)}"
    unknown_kpi = 9_000_000_000 + secrets.randbelow(10**6)
    await hr.publish(
        subjects.kpi_value_subject(unknown_kpi),
        json.dumps({"value": 7.5}).encode(),
        headers={"Nats-Msg-Id": key},
    )
    rejected = await arrived(receiver, endpoint["path"], "kpi.value_rejected", kpi_id=unknown_kpi)
    assert rejected.data["idempotency_key"] == key
    assert rejected.data["value"] == 7.5
    assert f"unknown KPI {unknown_kpi}" in rejected.data["reason"]


async def test_failed_attempts_are_retried_with_the_same_webhook_id(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, ["objective.created"])
    path = endpoint["path"]
    receiver.status[path] = 500
    company = await make(system, title="Flaky receiver", level="company")

    async def failed_twice() -> bool:
        return sum(1 for r in receiver.received if r.path == path) >= 2

    await eventually(failed_twice)
    assert (await endpoint_now(system, endpoint))["failing_since"] is not None
    del receiver.status[path]
    delivered = await arrived(receiver, path, "objective.created")
    assert delivered.data["objective"]["id"] == company["id"]
    assert {r.webhook_id for r in receiver.received if r.path == path} == {delivered.webhook_id}

    async def recorded() -> Json | None:
        (delivery,) = await deliveries(system, endpoint)
        return delivery if delivery["status"] == "delivered" else None

    delivery = await eventually(recorded)
    codes = [a["response_code"] for a in reversed(delivery["attempts"])]
    assert codes[-1] == 200 and set(codes[:-1]) == {500} and len(codes) >= 3
    assert delivery["attempts"][-1]["error"] == "HTTP 500"
    now = await endpoint_now(system, endpoint)
    assert now["enabled"] is True and now["failing_since"] is None


async def test_an_endpoint_failing_past_the_limit_is_disabled_and_can_be_enabled_again(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, ["objective.created"])
    path = endpoint["path"]
    receiver.status[path] = 503
    await make(system, title="Never answered", level="company")

    async def disabled() -> Json | None:
        now = await endpoint_now(system, endpoint)
        return now if not now["enabled"] else None

    now = await eventually(disabled, timeout_s=15)
    assert "HTTP 503" in now["disabled_reason"] and now["disabled_at"] and now["failing_since"]
    (given_up,) = await deliveries(system, endpoint)
    assert given_up["status"] == "failed" and given_up["next_attempt_at"] is None
    await make(system, title="While disabled", level="company")  # sent to no disabled endpoint
    del receiver.status[path]
    enabled = await system.client.patch(
        f"/api/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers=system.admin_headers
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    company = await make(system, title="After enabling", level="company")
    delivered = await arrived(receiver, path, "objective.created")
    assert delivered.data["objective"]["id"] == company["id"]
    assert len(receiver.delivered(path)) == 1


async def test_a_ping_is_sent_at_once_and_answered_with_its_attempt(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, ["kpi.value_rejected"])
    response = await system.client.post(
        f"/api/v1/webhooks/{endpoint['id']}/test", headers=system.admin_headers
    )
    assert response.status_code == 202, response.text
    ping = response.json()
    assert ping["event_type"] == "webhook.ping" and ping["status"] == "delivered"
    assert ping["attempts"][0]["response_code"] == 200
    (received,) = receiver.delivered(endpoint["path"])
    assert received.webhook_id == ping["webhook_id"] and received.event_type == "webhook.ping"


async def test_a_rotated_secret_signs_alongside_the_old_one(
    system: RunningSystem, receiver: Receiver
) -> None:
    endpoint = await register(system, receiver, ["objective.created"])
    old = endpoint["secret"]
    rotated = await system.client.post(
        f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=system.admin_headers
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    receiver.secrets[endpoint["path"]] = new
    await make(system, title="Rotated", level="company")
    received = await arrived(receiver, endpoint["path"], "objective.created")
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(received.body, received.headers)  # a receiver not yet switched
    Webhook(new).verify(received.body, received.headers)


async def test_only_an_admin_manages_webhooks_and_bad_input_is_refused(
    system: RunningSystem, receiver: Receiver
) -> None:
    _, employee = await system.user("employee")
    body = {"url": receiver.url("/x"), "events": ["objective.created"]}
    refused = await system.client.post("/api/v1/webhooks", json=body, headers=employee)
    assert refused.status_code == 403
    assert (await system.client.get("/api/v1/webhooks", headers=employee)).status_code == 403
    for bad in (
        {**body, "events": ["objective.health_changed"]},  # health is read, never an event
        {**body, "events": []},
        {**body, "url": "ftp://example.com/hook"},
        {**body, "url": "http://user:pw@example.com/hook"},
        {**body, "secret": "mine"},
    ):
        response = await system.client.post(
            "/api/v1/webhooks", json=bad, headers=system.admin_headers
        )
        assert response.status_code == 422, (bad, response.text)
    missing = await system.client.get("/api/v1/webhooks/999999999", headers=system.admin_headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "webhook endpoint 999999999 not found"


async def test_a_key_with_webhooks_manage_registers_an_endpoint(
    system: RunningSystem, receiver: Receiver
) -> None:
    created = await system.post_api_key(
        system.admin_headers, name="hooks", scopes=["webhooks:manage"]
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    body = {"url": receiver.url("/by-key"), "events": ["objective.created"]}
    registered = await system.client.post("/api/v1/webhooks", json=body, headers=key)
    assert registered.status_code == 201, registered.text
    listed = await system.client.get("/api/v1/webhooks", headers=key)
    assert registered.json()["id"] in [e["id"] for e in listed.json()["items"]]
