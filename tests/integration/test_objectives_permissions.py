"""The permission matrix, cell by cell, through every objectives endpoint of the gateway."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.system import RunningSystem

H = dict[str, str]


@dataclass
class World:
    admin: H
    manager: H
    employee: H
    integration: H
    ids: dict[str, int]  # name -> objective id
    sales: str


@pytest.fixture(scope="module")
async def world(system: RunningSystem) -> World:
    sales, finance = f"Sales-{secrets.token_hex(2)}", f"Finance-{secrets.token_hex(2)}"
    manager_user, manager = await system.user("manager", department=sales)
    employee_user, employee = await system.user("employee", department=sales)
    other_user, _ = await system.user("employee", department=sales)
    _, integration = await system.user("integration", department=None)
    admin = system.admin_headers

    async def make(headers: H, **body: Any) -> int:
        response = await system.client.post(
            "/api/v1/objectives", json={"year": 2026, **body}, headers=headers
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids = {"company": await make(admin, title="C", level="company")}
    ids["sales_team"] = await make(admin, title="S", level="team", department=sales, parent_id=None)
    ids["finance_team"] = await make(admin, title="F", level="team", department=finance)
    # An employee sees only their own objectives, so the parent (not theirs) is set by an admin.
    ids["employee_own"] = await make(
        admin,
        title="E",
        level="individual",
        owner_id=employee_user["id"],
        parent_id=ids["sales_team"],
    )
    ids["colleague_own"] = await make(
        admin,
        title="E2",
        level="individual",
        owner_id=other_user["id"],
        parent_id=ids["sales_team"],
    )
    ids["manager_own_finance"] = await make(
        admin, title="MF", level="team", owner_id=manager_user["id"], department=finance
    )
    ids["manager_created"] = await make(manager, title="MC", level="team")
    return World(admin, manager, employee, integration, ids, sales)


VIEW = {
    "admin": {
        "company",
        "sales_team",
        "finance_team",
        "employee_own",
        "colleague_own",
        "manager_own_finance",
        "manager_created",
    },
    "manager": {
        "sales_team",
        "employee_own",
        "colleague_own",
        "manager_own_finance",
        "manager_created",
    },
    "employee": {"employee_own"},
    "integration": set(),
}
UPDATE = {
    "admin": VIEW["admin"],
    "manager": {"sales_team", "employee_own", "colleague_own", "manager_created"},
    "employee": {"employee_own"},
}
DELETE = {"manager": {"manager_created"}, "employee": {"employee_own"}}


def headers_of(world: World, role: str) -> H:
    return dict(getattr(world, role))


@pytest.mark.parametrize("role", ["admin", "manager", "employee", "integration"])
async def test_view_through_every_read_endpoint(
    system: RunningSystem, world: World, role: str
) -> None:
    headers = headers_of(world, role)
    for name, objective_id in world.ids.items():
        visible = name in VIEW[role]
        expected = 200 if visible else (403 if role == "integration" else 404)
        for suffix in ("", "/children", "/ancestors", "/kpis", "/history"):
            response = await system.client.get(
                f"/api/v1/objectives/{objective_id}{suffix}", headers=headers
            )
            assert response.status_code == expected, (role, name, suffix, response.text)
        tree = await system.client.get(
            "/api/v1/objectives/tree/view", params={"root_id": objective_id}, headers=headers
        )
        assert tree.status_code == expected, (role, name, "tree")
    if role == "integration":
        for path in (
            "/api/v1/objectives",
            "/api/v1/objectives/tree/view",
            "/api/v1/objectives/stats/summary",
            "/api/v1/objectives/gantt/view",
        ):
            assert (await system.client.get(path, headers=headers)).status_code == 403
        return
    listed = await system.client.get(
        "/api/v1/objectives", params={"limit": 500, "year": 2026}, headers=headers
    )
    seen = {o["id"] for o in listed.json()["items"]}
    ours = set(world.ids.values())
    assert seen & ours == {world.ids[n] for n in VIEW[role]}
    gantt = await system.client.get("/api/v1/objectives/gantt/view", headers=headers)
    assert {g["id"] for g in gantt.json()} & ours == {world.ids[n] for n in VIEW[role]}


# Not the integration role: it is refused the tree and every ancestor chain outright (403),
# which test_view_through_every_read_endpoint checks.
@pytest.mark.parametrize("role", ["manager", "employee"])
async def test_nothing_out_of_view_leaks_through_the_tree_or_ancestors(
    system: RunningSystem, world: World, role: str
) -> None:
    headers = headers_of(world, role)
    whole = await system.client.get("/api/v1/objectives/tree/view", headers=headers)
    found: set[int] = set()
    stack = list(whole.json())
    while stack:
        node = stack.pop()
        found.add(node["id"])
        stack.extend(node["children"])
    assert found & set(world.ids.values()) == {world.ids[n] for n in VIEW[role]}
    up = await system.client.get(
        f"/api/v1/objectives/{world.ids['employee_own']}/ancestors", headers=headers
    )
    expected = [world.ids["sales_team"]] if role == "manager" else []
    assert [a["id"] for a in up.json()] == expected


@pytest.mark.parametrize("role", ["manager", "employee", "integration"])
async def test_update_and_delete(system: RunningSystem, world: World, role: str) -> None:
    headers = headers_of(world, role)
    for name, objective_id in world.ids.items():
        if role == "integration":
            expected_update = 403
        elif name not in VIEW[role]:
            expected_update = 404
        else:
            expected_update = 200 if name in UPDATE[role] else 403
        response = await system.client.put(
            f"/api/v1/objectives/{objective_id}",
            json={"description": f"by {role}"},
            headers=headers,
        )
        assert response.status_code == expected_update, (role, name, response.text)
        if expected_update == 200 or role == "integration":
            continue
        # Only try deletes that must be refused here; the allowed ones are checked below.
        if name in VIEW[role] and name not in DELETE.get(role, set()):
            refused = await system.client.delete(
                f"/api/v1/objectives/{objective_id}", headers=headers
            )
            assert refused.status_code == 403, (role, name)


async def test_allowed_deletes(system: RunningSystem, world: World) -> None:
    manager_delete = await system.client.delete(
        f"/api/v1/objectives/{world.ids['manager_created']}", headers=world.manager
    )
    assert manager_delete.status_code == 204
    sales_team = await system.client.delete(
        f"/api/v1/objectives/{world.ids['sales_team']}", headers=world.manager
    )
    assert sales_team.status_code == 403  # in their department, but not created by them
    restore = await system.client.post(
        f"/api/v1/objectives/{world.ids['manager_created']}/restore", headers=world.manager
    )
    assert restore.status_code == 403
    assert (
        await system.client.post(
            f"/api/v1/objectives/{world.ids['manager_created']}/restore", headers=world.admin
        )
    ).status_code == 200


@pytest.mark.parametrize("role", ["manager", "employee", "integration"])
async def test_only_an_admin_moves(system: RunningSystem, world: World, role: str) -> None:
    response = await system.client.post(
        f"/api/v1/objectives/{world.ids['employee_own']}/move",
        json={"new_parent_id": None},
        headers=headers_of(world, role),
    )
    assert response.status_code == 403


async def test_role_limits_when_changing_owner_or_department(
    system: RunningSystem, world: World
) -> None:
    give_away = await system.client.put(
        f"/api/v1/objectives/{world.ids['employee_own']}",
        json={"owner_id": 1},
        headers=world.employee,
    )
    assert give_away.status_code == 403
    export = await system.client.put(
        f"/api/v1/objectives/{world.ids['sales_team']}",
        json={"department": "Elsewhere"},
        headers=world.manager,
    )
    assert export.status_code == 403
    unknown_owner = await system.client.put(
        f"/api/v1/objectives/{world.ids['sales_team']}",
        json={"owner_id": 987654321},
        headers=world.admin,
    )
    assert unknown_owner.status_code == 422
