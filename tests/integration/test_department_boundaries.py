"""Permissions are checked on every object an operation touches, and objects stay in the
department of whoever places them (issue 13, two probe defects):

- a subtree delete touches the whole subtree: a manager who created a team objective may not
  take with it objectives of another department (or anyone's they may not delete);
- employees and managers place objectives and KPIs only in their own department (create with
  `department`, or `PUT` of it); admins anywhere.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem

H = dict[str, str]


def departments() -> tuple[str, str]:
    tag = secrets.token_hex(3)
    return f"Sales-{tag}", f"Finance-{tag}"


async def alive(system: RunningSystem, objective_id: int) -> bool:
    found = await system.client.get(
        f"/api/v1/objectives/{objective_id}", headers=system.admin_headers
    )
    return found.status_code == 200


async def test_a_manager_cannot_delete_what_lies_below_their_objective_out_of_their_reach(
    system: RunningSystem,
) -> None:
    sales, finance = departments()
    _, manager = await system.user("manager", department=sales)
    accountant, _ = await system.user("employee", department=finance)
    seller, _ = await system.user("employee", department=sales)
    team = await make(system, manager, title="Sales team", level="team")
    # An admin hangs another department's objective, and a seller's own, under it.
    foreign = await make(
        system, title="Books", level="individual", parent_id=team["id"], owner_id=accountant["id"]
    )
    seller_own = await make(
        system, title="Mine", level="individual", parent_id=team["id"], owner_id=seller["id"]
    )
    assert (
        await system.client.get(f"/api/v1/objectives/{foreign['id']}", headers=manager)
    ).status_code == 404  # out of the manager's view

    refused = await system.client.delete(f"/api/v1/objectives/{team['id']}", headers=manager)

    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    # The one in view is named; the one out of view only counted.
    assert (
        f"2 objective(s) below it that you may not delete ({seller_own['id']} and 1 outside your view)"
        in detail
    )
    for objective in (team, foreign, seller_own):
        assert await alive(system, objective["id"]), objective


async def test_a_manager_deletes_a_subtree_that_is_all_theirs(system: RunningSystem) -> None:
    sales, _ = departments()
    _, manager = await system.user("manager", department=sales)
    team = await make(system, manager, title="Team", level="team")
    below = await make(system, manager, title="Person", level="individual", parent_id=team["id"])

    deleted = await system.client.delete(f"/api/v1/objectives/{team['id']}", headers=manager)

    assert deleted.status_code == 204, deleted.text
    assert not await alive(system, team["id"])
    assert not await alive(system, below["id"])


async def test_an_employee_cannot_delete_others_objectives_below_their_own(
    system: RunningSystem,
) -> None:
    sales, _ = departments()
    me, headers = await system.user("employee", department=sales)
    colleague, _ = await system.user("employee", department=sales)
    mine = await make(system, title="My team goal", level="team", owner_id=me["id"])
    theirs = await make(
        system, title="Theirs", level="individual", parent_id=mine["id"], owner_id=colleague["id"]
    )

    refused = await system.client.delete(f"/api/v1/objectives/{mine['id']}", headers=headers)

    assert refused.status_code == 403, refused.text
    assert await alive(system, theirs["id"])
    admin = await system.client.delete(
        f"/api/v1/objectives/{mine['id']}", headers=system.admin_headers
    )
    assert admin.status_code == 204  # an admin may delete anything, subtree and all
    assert not await alive(system, theirs["id"])


async def test_an_employee_keeps_their_objectives_in_their_department(
    system: RunningSystem,
) -> None:
    sales, finance = departments()
    _, employee = await system.user("employee", department=sales)
    placed = await system.client.post(
        "/api/v1/objectives",
        json={"title": "Away", "level": "individual", "year": 2026, "department": finance},
        headers=employee,
    )
    assert placed.status_code == 403, placed.text
    assert "department" in placed.json()["detail"]
    own = await make(system, employee, title="Mine", level="individual", department=sales)
    moved = await system.client.put(
        f"/api/v1/objectives/{own['id']}", json={"department": finance}, headers=employee
    )
    assert moved.status_code == 403, moved.text
    cleared = await system.client.put(
        f"/api/v1/objectives/{own['id']}", json={"department": None}, headers=employee
    )
    assert cleared.status_code in (403, 422), cleared.text
    same = await system.client.put(
        f"/api/v1/objectives/{own['id']}", json={"department": sales}, headers=employee
    )
    assert same.status_code == 200, same.text


async def test_an_admin_places_objectives_anywhere(system: RunningSystem) -> None:
    sales, finance = departments()
    employee_user, _ = await system.user("employee", department=sales)
    theirs = await make(system, title="Theirs", level="individual", owner_id=employee_user["id"])
    assert theirs["department"] == sales
    moved = await system.client.put(
        f"/api/v1/objectives/{theirs['id']}",
        json={"department": finance},
        headers=system.admin_headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["department"] == finance


def kpi_body(**fields: Any) -> dict[str, Any]:
    return {"title": "Revenue", "target_value": 100, "year": 2026, **fields}


async def test_employees_and_managers_keep_kpis_in_their_department(
    system: RunningSystem,
) -> None:
    sales, finance = departments()
    _, employee = await system.user("employee", department=sales)
    _, manager = await system.user("manager", department=sales)
    for who in (employee, manager):
        placed = await system.client.post(
            "/api/v1/kpis", json=kpi_body(department=finance), headers=who
        )
        assert placed.status_code == 403, placed.text
    own = await make_kpi(system, employee)
    assert own["department"] == sales
    departmental = await make_kpi(system, manager)
    for who, kpi in ((employee, own), (manager, own), (manager, departmental)):
        moved = await system.client.put(
            f"/api/v1/kpis/{kpi['id']}", json={"department": finance}, headers=who
        )
        assert moved.status_code == 403, moved.text
        assert "department" in moved.json()["detail"]
    still = await system.client.get(f"/api/v1/kpis/{own['id']}", headers=system.admin_headers)
    assert still.json()["department"] == sales
    by_admin = await system.client.put(
        f"/api/v1/kpis/{own['id']}", json={"department": finance}, headers=system.admin_headers
    )
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["department"] == finance
