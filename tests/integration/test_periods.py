"""Periods and grades through the public API: closing grades and freezes, frozen objectives
refuse writes and keep their progress while values arrive, reopening unfreezes and
recomputes, and the periods list averages the grades by level. Each test has years of its
own: a closed period refuses writes to every objective in it."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.test_rollup import expect, progress_of, value
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually


async def close(system: RunningSystem, path: str, headers: dict[str, str] | None = None) -> Any:
    return await system.client.post(
        f"/api/v1/periods/{path}", headers=headers or system.admin_headers
    )


async def test_closing_a_quarter_grades_and_freezes_it_and_reopening_recomputes(
    system: RunningSystem, hr: Any
) -> None:
    admin = system.admin_headers
    year = 2061
    annual = await make(system, title="Year goal", level="company", year=year)
    q1 = await make(
        system, title="Q1", level="division", year=year, quarter="Q1", parent_id=annual["id"]
    )
    q2 = await make(
        system,
        title="Q2",
        level="division",
        year=year,
        quarter="Q2",
        parent_id=annual["id"],
        progress_percentage=20,
    )
    kpi = await make_kpi(system, target_value=100)
    linked = await system.client.post(
        f"/api/v1/objectives/{q1['id']}/kpis", json={"kpi_id": kpi["id"]}, headers=admin
    )
    assert linked.status_code == 201, linked.text
    await value(system, hr, kpi["id"], 70.4)
    await expect(system, {q1["id"]: 70.4, annual["id"]: (70.4 + 20) / 2})

    closed = await close(system, f"{year}/Q1/close")
    assert closed.status_code == 200, closed.text
    period = closed.json()
    assert (period["year"], period["quarter"], period["state"]) == (year, "Q1", "closed")
    assert (period["objectives"], period["graded"]) == (1, 1)
    assert period["average_grade"]["division"] == 0.7
    assert period["closed_by"] is not None and period["closed_at"] is not None

    detail = (await system.client.get(f"/api/v1/objectives/{q1['id']}", headers=admin)).json()
    assert (detail["grade"], detail["progress_percentage"]) == (0.7, 70.4)
    trail = await system.client.get(f"/api/v1/objectives/{q1['id']}/history", headers=admin)
    assert trail.json()[0]["action"] == "graded"
    assert trail.json()[0]["changes"] == {"grade": [None, 0.7]}
    q2_now = (await system.client.get(f"/api/v1/objectives/{q2['id']}", headers=admin)).json()
    assert q2_now["grade"] is None  # another quarter

    # Values keep arriving: the KPI moves, the frozen objective (and so its parent) does not.
    await value(system, hr, kpi["id"], 10)
    kpi_path = f"/api/v1/kpis/{kpi['id']}"

    async def kpi_moved() -> bool:
        found = (await system.client.get(kpi_path, headers=admin)).json()
        return bool(found.get("current_value") == 10)

    await eventually(kpi_moved, timeout_s=10)
    await system.settled(timeout_s=30)
    assert await progress_of(system, q1["id"]) == 70.4
    assert await progress_of(system, annual["id"]) == (70.4 + 20) / 2

    reopened = await close(system, f"{year}/Q1/reopen")
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["state"], reopened.json()["graded"]) == ("open", 0)
    await expect(system, {q1["id"]: 10.0, annual["id"]: 15.0})
    detail = (await system.client.get(f"/api/v1/objectives/{q1['id']}", headers=admin)).json()
    assert detail["grade"] is None
    trail = await system.client.get(f"/api/v1/objectives/{q1['id']}/history", headers=admin)
    assert trail.json()[0]["action"] == "reopened"


async def test_a_frozen_objective_and_its_period_refuse_writes_naming_the_period(
    system: RunningSystem,
) -> None:
    admin, client = system.admin_headers, system.client
    year = 2062
    root = await make(system, title="Open root", level="company", year=year + 1)
    frozen = await make(
        system, title="Frozen", level="division", year=year, quarter="Q3", parent_id=root["id"]
    )
    kpi = await make_kpi(system, target_value=100)
    assert (await close(system, f"{year}/Q3/close")).status_code == 200
    path = f"/api/v1/objectives/{frozen['id']}"
    refusals = [
        await client.put(path, json={"title": "new"}, headers=admin),
        await client.post(f"{path}/move", json={"new_parent_id": None}, headers=admin),
        await client.delete(path, headers=admin),
        await client.post(f"{path}/kpis", json={"kpi_id": kpi["id"]}, headers=admin),
        await client.post(f"{path}/check-ins", json={"status": "on_track"}, headers=admin),
        # Its parent's delete would take it too: the whole subtree is checked.
        await client.delete(f"/api/v1/objectives/{root['id']}", headers=admin),
        await client.post(
            "/api/v1/objectives",
            json={"title": "late", "level": "company", "year": year, "quarter": "Q3"},
            headers=admin,
        ),
    ]
    for response in refusals:
        assert response.status_code == 409, response.text
        assert f"{year} Q3 is closed" in response.json()["detail"], response.text
    # Moving an open objective into the closed period is refused as well.
    moved_in = await client.put(
        f"/api/v1/objectives/{root['id']}", json={"year": year, "quarter": "Q3"}, headers=admin
    )
    assert moved_in.status_code == 409, moved_in.text
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=["key", "title", "level", "year", "quarter"])
    writer.writeheader()
    writer.writerow(
        {"key": "a", "title": "Imported", "level": "company", "year": year, "quarter": "Q3"}
    )
    imported = await client.post(
        "/api/v1/objectives/import",
        content=rows.getvalue(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 422, imported.text
    assert f"the period {year} Q3 is closed" in imported.text
    # Another quarter of the year is open.
    other = await client.post(
        "/api/v1/objectives",
        json={"title": "open", "level": "company", "year": year, "quarter": "Q4"},
        headers=admin,
    )
    assert other.status_code == 201, other.text


async def test_only_admins_close_and_the_states_must_fit(system: RunningSystem) -> None:
    year = 2063
    await make(system, title="A", level="company", year=year, quarter="Q1")
    _, manager = await system.user("manager", department="Sales")
    refused = await close(system, f"{year}/close", manager)
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert (await close(system, f"{year}/Q2/reopen")).status_code == 409  # never closed
    assert (await close(system, f"{year}/Q1/close")).status_code == 200
    twice = await close(system, f"{year}/Q1/close")
    assert twice.status_code == 409 and "already closed" in twice.json()["detail"]
    assert (await close(system, f"{year}/close")).status_code == 200
    inside = await close(system, f"{year}/Q2/close")
    assert inside.status_code == 409 and f"the year {year} is closed" in inside.json()["detail"]
    early = await close(system, f"{year}/Q1/reopen")
    assert early.status_code == 409 and f"reopen it before {year} Q1" in early.text
    for bad in (f"{year}/Q5/close", "1999/close", "year/close"):
        assert (await close(system, bad)).status_code == 422, bad
    assert (await system.client.post(f"/api/v1/periods/{year}/close")).status_code == 401


async def test_the_year_grades_its_quarters_and_the_list_averages_by_level(
    system: RunningSystem,
) -> None:
    admin = system.admin_headers
    year = 2064
    company = await make(system, title="C", level="company", year=year, progress_percentage=90)
    d1 = await make(
        system,
        title="D1",
        level="division",
        year=year,
        quarter="Q1",
        progress_percentage=50,
    )
    d2 = await make(
        system,
        title="D2",
        level="division",
        year=year,
        quarter="Q2",
        progress_percentage=80,
    )
    assert (await close(system, f"{year}/Q2/close")).status_code == 200
    closed = await close(system, f"{year}/close")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["objectives"], closed.json()["graded"]) == (3, 3)
    assert closed.json()["average_grade"] == {
        "company": 0.9,
        "division": 0.65,
        "team": None,
        "individual": None,
    }
    listed = await system.client.get("/api/v1/periods", headers=admin)
    assert listed.status_code == 200, listed.text
    ours = {(p["year"], p["quarter"]): p for p in listed.json() if p["year"] == year}
    assert ours[(year, None)]["state"] == "closed"
    assert ours[(year, "Q1")]["state"] == "open"  # graded with the year, not closed itself
    assert ours[(year, "Q2")]["state"] == "closed"
    assert ours[(year, "Q1")]["average_grade"]["division"] == 0.5
    # Reopening the year leaves the quarter closed on its own still frozen.
    assert (await close(system, f"{year}/reopen")).status_code == 200
    shown = {
        o["id"]: o["grade"]
        for o in (
            await system.client.get("/api/v1/objectives", params={"year": year}, headers=admin)
        ).json()["items"]
    }
    assert shown == {company["id"]: None, d1["id"]: None, d2["id"]: 0.8}
    # An employee's list averages only what they may see.
    _, employee = await system.user("employee", department="Sales")
    theirs = await system.client.get("/api/v1/periods", headers=employee)
    assert all(p["objectives"] == 0 for p in theirs.json() if p["year"] == year)
