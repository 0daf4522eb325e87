"""The export through the public API: what the caller may see of a period, as CSV or JSON,
with progress, pace, grade and the latest check-in."""

from __future__ import annotations

import csv
import io
import secrets

from okr_gateway.routes.objective_export import COLUMNS
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem

YEAR = 2066  # this file's own: the export of it holds nothing else


async def test_csv_and_json_hold_what_the_caller_may_see_with_pace_grade_and_check_in(
    system: RunningSystem,
) -> None:
    admin, client = system.admin_headers, system.client
    dept = f"EX-{secrets.token_hex(3)}"
    owner, owner_headers = await system.user("employee", department=dept, full_name="Grace Hopper")
    company = await make(system, title="=HYPERLINK(evil)", level="company", year=YEAR)
    mine = await make(
        system,
        title="Mine, with a comma",
        level="individual",
        year=YEAR,
        quarter="Q1",
        parent_id=company["id"],
        owner_id=owner["id"],
        department=dept,
        progress_percentage=45,
    )
    kpi = await make_kpi(system, target_value=100)
    linked = await client.post(
        f"/api/v1/objectives/{company['id']}/kpis",
        json={"kpi_id": kpi["id"], "weight": 0.5},
        headers=admin,
    )
    assert linked.status_code == 201, linked.text
    checked = await client.post(
        f"/api/v1/objectives/{mine['id']}/check-ins",
        json={"status": "at_risk", "confidence": 4, "note": "slow\nstart"},
        headers=owner_headers,
    )
    assert checked.status_code == 201, checked.text
    assert (await client.post(f"/api/v1/periods/{YEAR}/Q1/close", headers=admin)).status_code == 200

    exported = await client.get("/api/v1/objectives/export", params={"year": YEAR}, headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert f'filename="objectives-{YEAR}.csv"' in exported.headers["content-disposition"]
    reader = csv.DictReader(io.StringIO(exported.text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = {int(r["id"]): r for r in reader}
    assert set(rows) == {company["id"], mine["id"]}
    top, row = rows[company["id"]], rows[mine["id"]]
    assert top["title"] == "'=HYPERLINK(evil)"  # never a formula in a spreadsheet
    assert top["kpis"] == f"{kpi['id']}:0.5" and top["grade"] == ""
    detail = (await client.get(f"/api/v1/objectives/{mine['id']}", headers=admin)).json()
    assert row == {
        "id": str(mine["id"]),
        "title": "Mine, with a comma",
        "level": "individual",
        "year": str(YEAR),
        "quarter": "Q1",
        "parent_id": str(company["id"]),
        "owner": owner["username"],
        "owner_name": "Grace Hopper",
        "department": dept,
        "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-03-31",
        "status": "active",
        "progress_percentage": "45.0",
        "expected_progress": str(detail["expected_progress"]),
        "health": detail["health"],
        "grade": "0.45",
        "last_check_in_status": "at_risk",
        "last_check_in_confidence": "4",
        "last_check_in_note": "slow\nstart",
        "last_check_in_at": checked.json()["at"].replace("Z", "+00:00"),
        "last_check_in_author_id": str(owner["id"]),
        "kpis": "",
    }

    as_json = await client.get(
        "/api/v1/objectives/export",
        params={"year": YEAR, "quarter": "Q1", "format": "json"},
        headers=admin,
    )
    assert as_json.status_code == 200, as_json.text
    assert f'filename="objectives-{YEAR}-Q1.json"' in as_json.headers["content-disposition"]
    (only,) = as_json.json()
    assert (only["id"], only["grade"], only["title"]) == (mine["id"], 0.45, "Mine, with a comma")
    assert only["last_check_in_note"] == "slow\nstart"

    theirs = await client.get(
        "/api/v1/objectives/export",
        params={"year": YEAR, "format": "json"},
        headers=owner_headers,
    )
    assert [o["id"] for o in theirs.json()] == [mine["id"]]  # their own only
    await client.post(f"/api/v1/periods/{YEAR}/Q1/reopen", headers=admin)


async def test_a_bad_export_request_says_what_to_fix(system: RunningSystem) -> None:
    headers = system.admin_headers
    for params in ({"format": "xlsx"}, {"year": 1999}, {"quarter": "Q9"}):
        response = await system.client.get(
            "/api/v1/objectives/export", params=params, headers=headers
        )
        assert response.status_code == 422, (params, response.text)
        assert next(iter(params)) in response.text
    assert (await system.client.get("/api/v1/objectives/export")).status_code == 401
    _, integration = await system.user("integration", department=None)
    refused = await system.client.get("/api/v1/objectives/export", headers=integration)
    assert refused.status_code == 403
