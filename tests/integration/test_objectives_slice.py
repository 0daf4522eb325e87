"""The thin vertical slice: gateway -> NATS -> objectives -> PostgreSQL, and objective.created
reaching the progress service's projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.support.system import RunningSystem, eventually

COMPANY = {"title": "Be the OKR tool teams pick", "level": "company", "year": 2026}


async def create(system: RunningSystem, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await system.client.post("/api/v1/objectives", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_then_get_round_trips_through_the_objectives_service(
    system: RunningSystem,
) -> None:
    response = await system.client.post(
        "/api/v1/objectives", json={**COMPANY, "quarter": "Q3"}, headers=system.admin_headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["title"] == COMPANY["title"]
    assert (created["start_date"], created["end_date"]) == ("2026-07-01", "2026-09-30")
    assert created["status"] == "active"
    assert created["version"] == 1
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/objectives/{created['id']}"

    fetched = await system.client.get(
        f"/api/v1/objectives/{created['id']}", headers=system.admin_headers
    )
    assert fetched.status_code == 200
    detail = fetched.json()
    assert {k: v for k, v in detail.items() if k in created} == created
    assert detail["owner_name"] == "Administrator"
    assert (detail["parent_title"], detail["child_count"], detail["kpi_count"]) == (None, 0, 0)

    async with system.engine.connect() as db:
        stored = (
            await db.execute(
                text("SELECT title, owner_id FROM objectives.objectives WHERE id = :id"),
                {"id": created["id"]},
            )
        ).one()
    assert stored.title == COMPANY["title"]


async def test_objective_created_reaches_the_progress_projection(system: RunningSystem) -> None:
    company = await create(system, system.admin_headers, **COMPANY)
    division = await create(
        system,
        system.admin_headers,
        title="Sell more",
        level="division",
        year=2026,
        parent_id=company["id"],
        department="Sales",
    )

    async def projected() -> Any:
        async with system.engine.connect() as db:
            return (
                await db.execute(
                    text(
                        "SELECT parent_id, level, version FROM progress.objectives WHERE id = :id"
                    ),
                    {"id": division["id"]},
                )
            ).one_or_none()

    row = await eventually(projected)
    assert (row.parent_id, row.level, row.version) == (company["id"], "division", 1)


async def test_unknown_objective_is_404(system: RunningSystem) -> None:
    response = await system.client.get("/api/v1/objectives/987654321", headers=system.admin_headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "objective 987654321 not found"


async def test_an_employee_sees_their_own_objective_and_not_anothers(system: RunningSystem) -> None:
    _, alice = await system.user("employee")
    _, bob = await system.user("employee")
    mine = await create(system, alice, title="Learn SQL", level="individual", year=2026)

    assert (
        await system.client.get(f"/api/v1/objectives/{mine['id']}", headers=alice)
    ).status_code == 200
    hidden = await system.client.get(f"/api/v1/objectives/{mine['id']}", headers=bob)
    assert hidden.status_code == 404  # exactly as a missing one: no existence leak
    assert hidden.json()["detail"] == f"objective {mine['id']} not found"


async def test_role_limits_on_create_answer_403(system: RunningSystem) -> None:
    _, employee = await system.user("employee")
    _, manager = await system.user("manager", department="Sales")
    for headers, body in (
        (employee, COMPANY),
        (employee, {"title": "Team goal", "level": "team", "year": 2026}),
        (manager, COMPANY),
        (manager, {"title": "Other dept", "level": "team", "year": 2026, "department": "Finance"}),
    ):
        response = await system.client.post("/api/v1/objectives", json=body, headers=headers)
        assert response.status_code == 403, (body, response.text)
    ok = await system.client.post(
        "/api/v1/objectives",
        json={"title": "Team goal", "level": "team", "year": 2026},
        headers=manager,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["department"] == "Sales"  # the owner's department by default


async def test_hierarchy_rules_are_enforced(system: RunningSystem) -> None:
    company = await create(system, system.admin_headers, **COMPANY)
    team = await create(
        system, system.admin_headers, title="T", level="team", year=2026, parent_id=company["id"]
    )
    cases = [
        ({**COMPANY, "parent_id": company["id"]}, "a company objective has no parent"),
        (
            {"title": "D", "level": "division", "year": 2026, "parent_id": team["id"]},
            "cannot sit under a team objective",
        ),
        (
            {"title": "D", "level": "division", "year": 2026, "parent_id": 999999999},
            "parent_id 999999999: no such objective",
        ),
    ]
    for body, message in cases:
        response = await system.client.post(
            "/api/v1/objectives", json=body, headers=system.admin_headers
        )
        assert response.status_code == 422, response.text
        assert message in response.json()["detail"]


async def test_bad_bodies_get_422_naming_each_field(system: RunningSystem) -> None:
    response = await system.client.post(
        "/api/v1/objectives",
        json={
            "title": "",
            "level": "boss",
            "year": 2026,
            "id": 5,
            "version": 9,
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
        headers=system.admin_headers,
    )
    assert response.status_code == 422
    body = response.json()
    fields = {tuple(e["loc"]) for e in body["errors"]}
    assert {("body", "title"), ("body", "level"), ("body", "id"), ("body", "version")} <= fields
    assert "title" in body["detail"] and "Extra inputs are not permitted" in body["detail"]

    dates = await system.client.post(
        "/api/v1/objectives",
        json={**COMPANY, "start_date": "2026-05-01", "end_date": "2026-04-01"},
        headers=system.admin_headers,
    )
    assert dates.status_code == 422
    assert "end_date must not be before start_date" in dates.json()["detail"]
