"""Idempotency keys belong to their sender: one sender's key, guessed or reused by another,
never makes the other's value a "repeat" to be skipped, neither in JetStream's duplicate window
(the gateway publishes REST values under a Nats-Msg-Id no NATS sender can know) nor in the
KPIs service (keys are unique per KPI and sender)."""

from __future__ import annotations

import json
import secrets

from okr_shared.embedded import EmbeddedNats
from tests.support.integrations import Json, connect_as, create
from tests.support.kpis import history, make_kpi
from tests.support.system import RunningSystem, eventually

Guarded = tuple[RunningSystem, EmbeddedNats]


async def post_value(system: RunningSystem, kpi_id: int, value: float, key: str) -> Json:
    response = await system.client.post(
        f"/api/v1/kpis/{kpi_id}/values",
        json={"value": value},
        headers={**system.admin_headers, "Idempotency-Key": key},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def stored(system: RunningSystem, kpi_id: int, count: int) -> list[Json]:
    async def all_there() -> list[Json] | None:
        found = await history(system, kpi_id)
        return found if len(found) >= count else None

    return sorted(await eventually(all_there), key=lambda v: v["value"])


async def test_an_integration_cannot_use_up_the_key_of_a_rest_caller(guarded: Guarded) -> None:
    system, _ = guarded
    integration = await create(system)
    target = await make_kpi(system)
    key = f"payroll-{secrets.token_hex(4)}"
    client = await connect_as(integration)
    try:
        js = client.jetstream()
        subject = f"{integration['subject_prefix']}.{target['id']}"
        first = await js.publish(subject, b'{"value": 11}', headers={"Nats-Msg-Id": key})
        assert not first.duplicate
        # The REST caller's value under the same key is stored too, and its retry is a repeat.
        assert (await post_value(system, target["id"], 22, key))["status"] == "accepted"
        assert (await post_value(system, target["id"], 22, key))["status"] == "duplicate"
        # The other way round: the integration's next key, used over REST first.
        later = f"{key}-2"
        assert (await post_value(system, target["id"], 33, later))["status"] == "accepted"
        second = await js.publish(subject, b'{"value": 44}', headers={"Nats-Msg-Id": later})
        assert not second.duplicate
    finally:
        await client.close()
    values = await stored(system, target["id"], 4)
    me = (await system.client.get("/api/v1/auth/me", headers=system.admin_headers)).json()
    sender = f"integration:{integration['id']}"
    assert [(v["value"], v["source"], v["idempotency_key"]) for v in values] == [
        (11, sender, key),
        (22, f"user:{me['id']}", key),  # the caller's own key, not the message id
        (33, f"user:{me['id']}", later),
        (44, sender, later),
    ]


async def test_batch_item_keys_are_unique_per_sender(guarded: Guarded) -> None:
    system, _ = guarded
    integration = await create(system)
    target = await make_kpi(system)
    key = f"item-{secrets.token_hex(4)}"
    client = await connect_as(integration)
    try:
        batch = {"values": [{"kpi_id": target["id"], "value": 5, "idempotency_key": key}]}
        await client.jetstream().publish(
            f"{integration['subject_prefix']}.batch", json.dumps(batch).encode()
        )
    finally:
        await client.close()
    await stored(system, target["id"], 1)
    item = {"kpi_id": target["id"], "value": 6, "idempotency_key": key}
    response = await system.client.post(
        "/api/v1/kpis/values/batch", json={"values": [item]}, headers=system.admin_headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    values = await stored(system, target["id"], 2)
    assert [v["value"] for v in values] == [5, 6]
    assert {v["idempotency_key"] for v in values} == {key}


async def test_a_key_longer_than_200_is_refused_with_its_reason(guarded: Guarded) -> None:
    system, _ = guarded
    integration = await create(system)
    target = await make_kpi(system)
    key = "k" * 201
    client = await connect_as(integration)
    try:
        await client.jetstream().publish(
            f"{integration['subject_prefix']}.{target['id']}",
            b'{"value": 1}',
            headers={"Nats-Msg-Id": key},
        )
    finally:
        await client.close()

    async def refused() -> Json | None:
        response = await system.client.get(
            "/api/v1/ingest/rejections", params={"limit": 50}, headers=system.admin_headers
        )
        return next((r for r in response.json() if r["idempotency_key"] == key), None)

    rejection = await eventually(refused)
    assert "idempotency key (Nats-Msg-Id) is longer than 200" in rejection["reason"]
    assert await history(system, target["id"]) == []
