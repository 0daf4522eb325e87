"""The security log: what happened to accounts, by whom, from where; admins read it, with
filters and pages like every other list (issue 13, part 5)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.system import RunningSystem

LOG = "/api/v1/audit/security"


async def events(system: RunningSystem, **params: Any) -> dict[str, Any]:
    response = await system.client.get(LOG, params=params, headers=system.admin_headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_account_changes_are_logged_with_who_and_whence(system: RunningSystem) -> None:
    admin_id = (await system.client.get("/api/v1/auth/me", headers=system.admin_headers)).json()[
        "id"
    ]
    password = secrets.token_urlsafe(12)
    user, headers = await system.user("employee", password=password)
    url = f"/api/v1/users/{user['id']}"
    await system.client.put(url, json={"role": "manager"}, headers=system.admin_headers)
    changed = await system.client.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": "changed-by-me-1"},
        headers=headers,
    )
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    await system.client.post("/api/v1/auth/logout", headers=fresh)
    await system.client.put(
        url, json={"password": "reset-by-admin-1"}, headers=system.admin_headers
    )
    await system.client.delete(url, headers=system.admin_headers)

    page = await events(system, user_id=user["id"])
    seen = [(e["kind"], e["actor_id"], e["user_id"], e["detail"]) for e in page["items"]]
    assert seen == [  # newest first
        ("user_deactivated", admin_id, user["id"], ""),
        ("password_reset", admin_id, user["id"], ""),
        ("logout", user["id"], user["id"], ""),
        ("password_changed", user["id"], user["id"], ""),
        ("user_role_changed", admin_id, user["id"], "employee -> manager"),
        ("sign_in_succeeded", user["id"], user["id"], ""),
        ("user_created", admin_id, user["id"], "employee"),
    ]
    assert {e["client_address"] for e in page["items"]} == {"127.0.0.1"}
    for secret in (password, "changed-by-me-1", "reset-by-admin-1"):
        assert secret not in str(page)


async def test_the_log_filters_and_pages(system: RunningSystem) -> None:
    user, headers = await system.user("employee")
    await system.client.post("/api/v1/auth/logout", headers=headers)  # created, in, out
    only = await events(system, kind="sign_in_succeeded", user_id=user["id"])
    assert [e["kind"] for e in only["items"]] == ["sign_in_succeeded"]
    page = await events(system, user_id=user["id"], skip=1, limit=1)
    assert (page["total"], page["skip"], page["limit"], len(page["items"])) == (3, 1, 1, 1)
    bad = await system.client.get(LOG, params={"kind": "nonsense"}, headers=system.admin_headers)
    assert bad.status_code == 422


async def test_only_admins_read_the_log(system: RunningSystem) -> None:
    for role in ("manager", "employee", "integration"):
        _, headers = await system.user(role)
        assert (await system.client.get(LOG, headers=headers)).status_code == 403
