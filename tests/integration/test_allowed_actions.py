"""What the API says a caller may do (`allowed_actions`, creatable levels) agrees with what it
then accepts and refuses: the dashboard offers only what these answers list."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem

H = dict[str, str]


async def actions(system: RunningSystem, headers: H, objective_id: int) -> list[str]:
    response = await system.client.get(f"/api/v1/objectives/{objective_id}", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["allowed_actions"])


async def levels(system: RunningSystem, headers: H) -> list[str]:
    response = await system.client.get("/api/v1/objectives/creatable/levels", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["levels"])


async def test_objective_actions_follow_the_matrix_and_the_api_agrees(
    system: RunningSystem,
) -> None:
    dept = f"Ops-{secrets.token_hex(2)}"
    manager_user, manager = await system.user("manager", department=dept)
    employee_user, employee = await system.user("employee", department=dept)
    team = await make(system, title="Team", level="team", department=dept)
    own = await make(
        system, title="Mine", level="individual", parent_id=team["id"], owner_id=employee_user["id"]
    )

    assert await actions(system, system.admin_headers, team["id"]) == [
        "update",
        "delete",
        "move",
        "link",
    ]
    # The manager did not create the team: may change it (own department) but not delete it.
    assert await actions(system, manager, team["id"]) == ["update", "link"]
    assert await actions(system, employee, own["id"]) == ["update", "delete", "link"]

    refused_move = await system.client.post(
        f"/api/v1/objectives/{own['id']}/move", json={"new_parent_id": None}, headers=employee
    )
    assert refused_move.status_code == 403
    refused_delete = await system.client.delete(f"/api/v1/objectives/{team['id']}", headers=manager)
    assert refused_delete.status_code == 403
    accepted = await system.client.put(
        f"/api/v1/objectives/{own['id']}", json={"title": "Mine, renamed"}, headers=employee
    )
    assert accepted.status_code == 200, accepted.text


async def test_creatable_levels_follow_the_matrix_and_the_api_agrees(
    system: RunningSystem,
) -> None:
    dept = f"Ops-{secrets.token_hex(2)}"
    _, manager = await system.user("manager", department=dept)
    _, employee = await system.user("employee", department=dept)
    _, integration = await system.user("integration", department=None)

    assert await levels(system, system.admin_headers) == [
        "company",
        "division",
        "team",
        "individual",
    ]
    assert await levels(system, manager) == ["division", "team", "individual"]
    assert await levels(system, employee) == ["individual"]
    assert await levels(system, integration) == []

    async def create(headers: H, level: str) -> int:
        body: dict[str, Any] = {"title": level, "level": level, "year": 2026}
        response = await system.client.post("/api/v1/objectives", json=body, headers=headers)
        return response.status_code

    assert await create(employee, "individual") == 201
    assert await create(employee, "team") == 403
    assert await create(manager, "division") == 201
    assert await create(manager, "company") == 403

    anonymous = await system.client.get("/api/v1/objectives/creatable/levels")
    assert anonymous.status_code == 401


async def test_kpi_detail_lists_what_the_caller_may_do(system: RunningSystem) -> None:
    dept = f"Ops-{secrets.token_hex(2)}"
    employee_user, employee = await system.user("employee", department=dept)
    _, integration = await system.user("integration", department=None)
    theirs = await make_kpi(system, owner_id=employee_user["id"], department=dept)

    async def kpi_actions(headers: H) -> list[str]:
        response = await system.client.get(f"/api/v1/kpis/{theirs['id']}", headers=headers)
        assert response.status_code == 200, response.text
        return list(response.json()["allowed_actions"])

    assert await kpi_actions(system.admin_headers) == ["update", "write_values"]
    assert await kpi_actions(employee) == ["update", "write_values"]
    assert await kpi_actions(integration) == ["write_values"]
    refused = await system.client.put(
        f"/api/v1/kpis/{theirs['id']}", json={"title": "x"}, headers=integration
    )
    assert refused.status_code == 403
