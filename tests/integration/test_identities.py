"""Who the caller is, as each gateway keeps it (okr_gateway/identities.py): a change of a
user's role, department or standing applies to their next request, on the gateway that made it
and on every other, while their objectives are read from the gateway's read model."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.support.gateways import client_at, extra_gateway
from tests.support.read_models import is_warm, warm
from tests.support.system import RunningSystem, eventually

H = dict[str, str]


async def a_managers_team(system: RunningSystem) -> tuple[str, str, H, str, str]:
    """A manager in a department of their own and a team objective there: (their department,
    another, their headers, the objective's path, their user's path)."""
    sales, ops = f"Sales-{secrets.token_hex(2)}", f"Ops-{secrets.token_hex(2)}"
    manager, headers = await system.user("manager", department=sales)
    made = await system.client.post(
        "/api/v1/objectives",
        json={"title": "s", "level": "team", "year": 2093, "department": sales},
        headers=system.admin_headers,
    )
    path = f"/api/v1/objectives/{made.json()['id']}"
    return sales, ops, headers, path, f"/api/v1/users/{manager['id']}"


async def test_a_permission_change_applies_to_the_next_request(system: RunningSystem) -> None:
    await warm(system)
    sales, ops, headers, path, user_path = await a_managers_team(system)
    assert (await system.client.get(path, headers=headers)).status_code == 200
    moved = await system.client.put(
        user_path, json={"department": ops}, headers=system.admin_headers
    )
    assert moved.status_code == 200, moved.text
    assert (await system.client.get(path, headers=headers)).status_code == 404
    await system.client.put(user_path, json={"department": sales}, headers=system.admin_headers)
    assert (await system.client.get(path, headers=headers)).status_code == 200
    await system.client.put(user_path, json={"role": "employee"}, headers=system.admin_headers)
    assert (await system.client.get(path, headers=headers)).status_code == 404
    await system.client.put(user_path, json={"is_active": False}, headers=system.admin_headers)
    assert (await system.client.get(path, headers=headers)).status_code == 401


async def test_another_replica_applies_a_permission_change_at_once(
    system: RunningSystem, tmp_path: Path
) -> None:
    """Each gateway keeps the users its requests need (okr_gateway/identities.py); a change
    made through one is announced by the database to every other."""
    sales, ops, headers, path, user_path = await a_managers_team(system)
    async with (
        extra_gateway(system, tmp_path) as replica,
        client_at(replica, "127.0.0.1") as other,
    ):
        await eventually(lambda: is_warm(replica), timeout_s=30)
        for _ in range(3):
            assert (await other.get(path, headers=headers)).status_code == 200  # kept now
            changed = await system.client.put(
                user_path, json={"department": ops}, headers=system.admin_headers
            )
            assert changed.status_code == 200
            assert (await other.get(path, headers=headers)).status_code == 404
            await system.client.put(
                user_path, json={"department": sales}, headers=system.admin_headers
            )
        await system.client.put(user_path, json={"is_active": False}, headers=system.admin_headers)
        assert (await other.get(path, headers=headers)).status_code == 401
