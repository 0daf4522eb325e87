"""An integration's whole life, through the public interfaces: an admin creates it, it connects
to NATS with the URL it was given as it is, publishes, its values carry its identity whatever
their payload says, its page counts them, and revoking it closes its open connection and
refuses the next."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from urllib.parse import urlsplit

import pytest

from okr_shared.embedded import EmbeddedNats
from tests.support.integrations import Json, connect_as, create, page
from tests.support.kpis import history, make_kpi
from tests.support.system import RunningSystem, eventually

Guarded = tuple[RunningSystem, EmbeddedNats]


async def connect_reply(server: EmbeddedNats, user: str, password: str) -> bytes:
    """What the server says to a CONNECT with these credentials (raw protocol: nats-py would
    leak the socket of a refused connection into a later test's warnings)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await reader.readline()  # INFO
        connect = json.dumps({"verbose": False, "user": user, "pass": password})
        writer.write(f"CONNECT {connect}\r\nPING\r\n".encode())
        await writer.drain()
        return (await reader.readline()).strip()
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def integration(guarded: Guarded) -> Json:
    system, _ = guarded
    return await create(system)


async def test_an_integration_publishes_under_its_own_name_and_is_counted(
    guarded: Guarded, integration: Json
) -> None:
    system, _ = guarded
    assert integration["api_key"].startswith("okr_")
    assert integration["warning"]
    target = await make_kpi(system, baseline_value=0, target_value=100)
    client = await connect_as(integration)
    try:
        js = client.jetstream()
        prefix = integration["subject_prefix"]
        # The payload claims to be the shared HR user: a label, never the identity.
        forged = {"value": 42, "source": "hr"}
        ack = await js.publish(f"{prefix}.{target['id']}", json.dumps(forged).encode())
        assert ack.stream == "KPI_VALUES"
        await js.publish(f"{prefix}.987654321", b'{"value": 1}')  # an unknown KPI: refused
    finally:
        await client.close()

    async def stored() -> list[Json]:
        return await history(system, target["id"])

    [value] = await eventually(stored)
    assert value["source"] == f"integration:{integration['id']}"
    assert value["source_label"] == "hr"

    async def counted() -> Json | None:
        found = await page(system, integration["id"])
        return found if found["values_refused"] == 1 else None

    shown = await eventually(counted)
    assert (shown["values_sent"], shown["values_refused"]) == (2, 1)
    assert shown["connections"] == 1
    assert shown["last_connected_at"] is not None
    assert shown["last_published_at"] is not None
    assert shown["revoked_at"] is None
    assert "nats_url" not in shown  # shown once, at creation
    listed = await system.client.get("/api/v1/integrations", headers=system.admin_headers)
    assert integration["id"] in [i["id"] for i in listed.json()]


async def test_an_integration_may_not_publish_as_anyone_else(
    guarded: Guarded, integration: Json
) -> None:
    system, _ = guarded
    other = await create(system)
    errors: list[str] = []
    client = await connect_as(integration, errors)
    try:
        for subject in ("kpi.values.1", "kpi.values.batch", f"{other['subject_prefix']}.1"):
            await client.publish(subject, b'{"value": 1}')
        await client.flush()
        await asyncio.sleep(0.2)
    finally:
        await client.close()
    for subject in ("kpi.values.1", "kpi.values.batch", f"{other['subject_prefix']}.1"):
        assert f'publish to "{subject}"' in " ".join(errors), subject


async def test_values_recorded_over_rest_carry_the_callers_identity(guarded: Guarded) -> None:
    system, _ = guarded
    target = await make_kpi(system)
    me = (await system.client.get("/api/v1/auth/me", headers=system.admin_headers)).json()
    response = await system.client.post(
        f"/api/v1/kpis/{target['id']}/values",
        json={"value": 5, "source": "integration:1"},
        headers=system.admin_headers,
    )
    assert response.status_code == 202, response.text

    async def stored() -> list[Json]:
        return await history(system, target["id"])

    [value] = await eventually(stored)
    assert (value["source"], value["source_label"]) == (f"user:{me['id']}", "integration:1")


async def test_revoking_closes_its_connection_and_refuses_the_next(
    guarded: Guarded, integration: Json
) -> None:
    system, server = guarded
    url = urlsplit(integration["nats_url"])
    assert (url.username, url.password) == (integration["nats_user"], integration["nats_password"])
    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    client = await connect_as(integration, allow_reconnect=False, closed_cb=on_closed)
    try:
        await client.flush()
        started = time.monotonic()
        response = await system.client.delete(
            f"/api/v1/integrations/{integration['id']}", headers=system.admin_headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["connections_closed"] == 1
        await asyncio.wait_for(closed.wait(), timeout=3)
        cut_after_s = time.monotonic() - started
    finally:
        await client.close()
    assert cut_after_s < 3
    refused = await connect_reply(server, url.username or "", url.password or "")
    assert refused == b"-ERR 'Authorization Violation'"
    shown = await page(system, integration["id"])
    assert shown["revoked_at"] is not None
    again = await system.client.delete(
        f"/api/v1/integrations/{integration['id']}", headers=system.admin_headers
    )
    assert (again.status_code, again.json()["connections_closed"]) == (200, 0)


async def test_a_wrong_password_or_an_unknown_integration_is_refused(
    guarded: Guarded, integration: Json
) -> None:
    _, server = guarded
    assert await connect_reply(server, integration["nats_user"], "not-the-password") == (
        b"-ERR 'Authorization Violation'"
    )
    assert await connect_reply(server, "integration-999999", "x") == (
        b"-ERR 'Authorization Violation'"
    )
    assert await connect_reply(server, "hr", "not-the-password") == (
        b"-ERR 'Authorization Violation'"
    )
    # Its number written another way is not its name: a revocation looks for that name only.
    number = str(integration["id"])
    password = integration["nats_password"]
    for alias in (f"integration-0{number}", f"integration-{number} ", "integration-\u0661"):
        assert await connect_reply(server, alias, password) == (
            b"-ERR 'Authorization Violation'"
        ), alias
    assert await connect_reply(server, integration["nats_user"], password) == b"PONG"


async def test_an_integration_without_values_write_cannot_connect(guarded: Guarded) -> None:
    system, server = guarded
    body = {"name": f"reader-{secrets.token_hex(3)}", "scopes": ["kpis:read"]}
    response = await system.client.post(
        "/api/v1/integrations", json=body, headers=system.admin_headers
    )
    assert response.status_code == 201, response.text
    reader = response.json()
    assert await connect_reply(server, reader["nats_user"], reader["nats_password"]) == (
        b"-ERR 'Authorization Violation'"
    )


async def test_integrations_are_for_admins_and_names_are_unique(guarded: Guarded) -> None:
    system, _ = guarded
    _, headers = await system.user("manager")
    body = {"name": f"sap-{secrets.token_hex(3)}"}
    denied = await system.client.post("/api/v1/integrations", json=body, headers=headers)
    assert denied.status_code == 403
    await create(system, body["name"])
    again = await system.client.post(
        "/api/v1/integrations", json=body, headers=system.admin_headers
    )
    assert again.status_code == 409, again.text
    bad = await system.client.post(
        "/api/v1/integrations", json={"name": "no spaces"}, headers=system.admin_headers
    )
    assert bad.status_code == 422


async def test_its_api_key_reads_kpis_and_records_values_under_its_name_until_revoked(
    guarded: Guarded, integration: Json
) -> None:
    system, _ = guarded
    target = await make_kpi(system)
    key = {"Authorization": f"Bearer {integration['api_key']}"}
    read = await system.client.get(f"/api/v1/kpis/{target['id']}", headers=key)
    assert read.status_code == 200, read.text
    recorded = await system.client.post(
        f"/api/v1/kpis/{target['id']}/values", json={"value": 7}, headers=key
    )
    assert recorded.status_code == 202, recorded.text
    objectives = await system.client.get("/api/v1/objectives", headers=key)
    assert objectives.status_code == 403  # not among its scopes

    async def stored() -> list[Json]:
        return await history(system, target["id"])

    [value] = await eventually(stored)
    assert value["source"] == f"integration:{integration['id']}"

    revoked = await system.client.delete(
        f"/api/v1/integrations/{integration['id']}", headers=system.admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    refused = await system.client.get(f"/api/v1/kpis/{target['id']}", headers=key)
    assert refused.status_code == 401, refused.text


async def test_an_integrations_user_is_changed_only_through_the_integration(
    guarded: Guarded, integration: Json
) -> None:
    system, _ = guarded
    path = f"/api/v1/users/{integration['user_id']}"
    password = await system.client.put(
        path, json={"password": "a-new-password"}, headers=system.admin_headers
    )
    assert password.status_code == 409, password.text
    assert f"/api/v1/integrations/{integration['id']}" in password.json()["detail"]
    deactivated = await system.client.delete(path, headers=system.admin_headers)
    assert deactivated.status_code == 409, deactivated.text
