"""`GET /api/v1/users/names` names only the users a caller has a reason to see named: the owners
of objectives in their view, and themselves; an admin, everyone; the integration role, no one
(issue 13, a probe defect: any signed-in user, the integration role included, got the name of
every user, deactivated ones too)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.objectives import make
from tests.support.system import RunningSystem

Json = dict[str, Any]


async def names(system: RunningSystem, headers: dict[str, str], *users: Json) -> Any:
    response = await system.client.get(
        "/api/v1/users/names",
        params=[("id", u["id"]) for u in users] + [("id", 987654321)],
        headers=headers,
    )
    return response.json()["names"] if response.status_code == 200 else response.status_code


async def test_names_follow_the_objectives_the_caller_may_see(system: RunningSystem) -> None:
    tag = secrets.token_hex(3)
    sales, finance = f"Sales-{tag}", f"Finance-{tag}"
    manager, manager_headers = await system.user("manager", department=sales, full_name="Mona")
    seller, seller_headers = await system.user("employee", department=sales, full_name="Sam")
    idle, _ = await system.user("employee", department=sales)  # owns nothing
    accountant, _ = await system.user("employee", department=finance, full_name="Al")
    leaver, _ = await system.user("employee", department=sales, full_name="Lee")
    gone, _ = await system.user("employee", department=sales, full_name="Gus")
    _, integration = await system.user("integration", department=None)
    for owner in (seller, accountant, leaver):
        await make(system, title="Goal", level="individual", owner_id=owner["id"])
    for user in (leaver, gone):
        deactivated = await system.client.delete(
            f"/api/v1/users/{user['id']}", headers=system.admin_headers
        )
        assert deactivated.status_code == 204
    everyone = (manager, seller, idle, accountant, leaver, gone)

    # An employee sees their own objectives only: their own name, nobody else's.
    assert await names(system, seller_headers, *everyone) == {str(seller["id"]): "Sam"}
    # A manager: owners of their department's objectives (a deactivated one still owns one,
    # as the objective's detail says) and themselves; not a colleague who owns nothing in view,
    # not another department's.
    assert await names(system, manager_headers, *everyone) == {
        str(manager["id"]): "Mona",
        str(seller["id"]): "Sam",
        str(leaver["id"]): "Lee",
    }
    assert await names(system, integration, *everyone) == 403
    every_name = await names(system, system.admin_headers, *everyone)
    assert set(every_name) == {str(u["id"]) for u in everyone}
    assert every_name[str(idle["id"])] == idle["username"]  # no full name: the username


async def test_a_bad_request_for_names_is_refused(system: RunningSystem) -> None:
    _, headers = await system.user("employee")
    too_many = [("id", n) for n in range(1, 502)]
    refused = await system.client.get("/api/v1/users/names", params=too_many, headers=headers)
    assert refused.status_code == 422
    none = await system.client.get("/api/v1/users/names", headers=headers)
    assert none.status_code == 422 and "id" in none.json()["detail"]
