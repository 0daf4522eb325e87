"""`POST /api/v1/objectives/import` through the gateway: a tree with owners and KPI links in one
transaction, a dry run, every problem listed with nothing written, the permission matrix on
every row, and bodies that are not an import."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

import pytest

from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually

URL = "/api/v1/objectives/import"
Json = dict[str, Any]


def as_csv(rows: list[Json]) -> bytes:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def post_csv(
    system: RunningSystem, rows: list[Json], headers: dict[str, str] | None = None, **params: Any
) -> Any:
    return await system.client.post(
        URL,
        content=as_csv(rows),
        params=params,
        headers={**(headers or system.admin_headers), "Content-Type": "text/csv"},
    )


async def titled(system: RunningSystem, title: str) -> list[Json]:
    response = await system.client.get(
        "/api/v1/objectives", params={"limit": 500}, headers=system.admin_headers
    )
    return [o for o in response.json()["items"] if o["title"] == title]


async def test_a_csv_import_builds_the_tree_with_owners_links_and_rollup(
    system: RunningSystem,
) -> None:
    tag = secrets.token_hex(3)
    manager, _ = await system.user("manager", department=f"Sales-{tag}")
    employee, _ = await system.user("employee", department=f"Sales-{tag}")
    existing = await make(system, title=f"Existing {tag}", level="division")
    first, second = await make_kpi(system), await make_kpi(system)
    rows = [
        {"key": "c", "title": f"Company {tag}", "level": "company", "year": 2026},
        {"key": "d", "title": "Division", "level": "division", "year": 2026, "parent": "c",
         "owner": manager["username"].upper()},  # usernames are not case-sensitive
        {"key": "t", "title": "Team", "level": "team", "year": 2026, "parent": "d",
         "quarter": "Q2", "owner": manager["username"]},
        {"key": "i", "title": "Individual", "level": "individual", "year": 2026, "parent": "t",
         "owner": employee["username"], "kpis": f"{first['id']}:0.25; {second['id']}:0.75"},
        {"key": "u", "title": "Under an existing one", "level": "team", "year": 2026,
         "parent": str(existing["id"]), "status": "on_hold", "end_date": "2026-06-30"},
    ]  # fmt: skip
    response = await post_csv(system, rows)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["dry_run"], report["objectives"], report["links"]) == (False, 5, 2)
    ids = {item["key"]: item["id"] for item in report["created"]}
    assert sorted(ids) == ["c", "d", "i", "t", "u"]

    async def get(key: str) -> Json:
        found = await system.client.get(
            f"/api/v1/objectives/{ids[key]}", headers=system.admin_headers
        )
        return dict(found.json())

    division, team, individual, under = [await get(k) for k in "dtiu"]
    assert division["parent_id"] == ids["c"]
    assert (division["owner_id"], division["department"]) == (manager["id"], f"Sales-{tag}")
    assert (team["parent_id"], team["start_date"], team["end_date"]) == (
        ids["d"],
        "2026-04-01",
        "2026-06-30",
    )
    assert (individual["parent_id"], individual["owner_id"]) == (ids["t"], employee["id"])
    assert (under["parent_id"], under["status"], under["end_date"]) == (
        existing["id"],
        "on_hold",
        "2026-06-30",
    )
    links = await system.client.get(
        f"/api/v1/objectives/{ids['i']}/kpis", headers=system.admin_headers
    )
    assert {(link["kpi_id"], link["weight"]) for link in links.json()} == {
        (first["id"], 0.25),
        (second["id"], 0.75),
    }
    history = await system.client.get(
        f"/api/v1/objectives/{ids['i']}/history", headers=system.admin_headers
    )
    assert {entry["action"] for entry in history.json()} == {"created", "kpi_linked"}

    # The writer reads the whole import at once, and the rollup learnt it from the events.
    tree = await system.client.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": ids["c"]},
        headers=system.admin_headers,
    )
    assert tree.json()[0]["children"][0]["children"][0]["children"][0]["id"] == ids["i"]
    for kpi, value in ((first, 100), (second, 40)):
        sent = await system.client.post(
            f"/api/v1/kpis/{kpi['id']}/values", json={"value": value}, headers=system.admin_headers
        )
        assert sent.status_code == 202, sent.text

    async def rolled_up() -> bool:  # 0.25 x 100 + 0.75 x 40, up the chain
        return (await get("c"))["progress_percentage"] == pytest.approx(55)

    await eventually(rolled_up, timeout_s=10)


async def test_a_json_dry_run_reports_and_writes_nothing(system: RunningSystem) -> None:
    title = f"Dry {secrets.token_hex(3)}"
    rows = [
        {"key": "c", "title": title, "level": "company", "year": 2026},
        {"key": "d", "title": title, "level": "division", "year": 2026, "parent": "c"},
    ]
    response = await system.client.post(
        URL, json=rows, params={"dry_run": "true"}, headers=system.admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"dry_run": True, "objectives": 2, "links": 0, "created": []}
    assert await titled(system, title) == []


async def test_every_problem_is_listed_by_row_and_nothing_is_written(
    system: RunningSystem,
) -> None:
    title = f"Refused {secrets.token_hex(3)}"
    kpi = await make_kpi(system)
    base = {"title": title, "year": 2026}
    rows = [
        {**base, "key": "c", "level": "company"},
        {**base, "key": "d", "level": "division", "parent": "c", "kpis": f"{kpi['id']}:0.5"},
        {**base, "key": "orphan", "level": "team", "parent": "nowhere"},
        {**base, "key": "nobody", "level": "team", "parent": "d", "owner": "no-such-user"},
        {**base, "key": "ghost-kpi", "level": "team", "parent": "d", "kpis": "999999999:1"},
        {**base, "key": "d", "level": "team", "parent": "c"},
        {**base, "key": "upside-down", "level": "division", "parent": "t"},
        {**base, "key": "t", "level": "team", "parent": "d"},
        {**base, "key": "topped", "level": "company", "parent": "c"},
        {**base, "key": "odd", "level": "galaxy"},
        {**base, "key": "pairs", "level": "team", "parent": "d", "kpis": "12"},
        {**base, "key": "late", "level": "team", "start_date": "2026-05-01",
         "end_date": "2026-04-01"},
        {**base, "key": "self", "level": "team", "parent": "self"},
        {**base, "key": "twice", "level": "team", "kpis": f"{kpi['id']}:0.5;{kpi['id']}:1"},
    ]  # fmt: skip
    response = await post_csv(system, rows)
    assert response.status_code == 422, response.text
    body = response.json()
    assert "nothing was imported" in body["detail"]
    found = {(p["row"], p["field"]) for p in body["errors"]}
    assert found == {
        (3, "parent"),
        (4, "owner"),
        (5, "kpis"),
        (6, "key"),
        (10, "level"),
        (11, "kpis"),
        (12, None),
        (13, "parent"),
        (14, "kpis"),
    }, body["errors"]
    assert "no-such-user" in next(p["message"] for p in body["errors"] if p["row"] == 4)
    assert "999999999" in next(p["message"] for p in body["errors"] if p["row"] == 5)
    assert await titled(system, title) == []

    # What the gateway cannot know, the service finds: a level above its parent's, a company
    # under anything. Still all of them at once, and still nothing written.
    valid = [r for n, r in enumerate(rows, 1) if n in (1, 2, 7, 8, 9)]
    response = await post_csv(system, valid)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(p["row"], p["field"]) for p in errors] == [(3, "parent"), (5, "parent")]
    assert "cannot sit under a team" in errors[0]["message"]
    assert "has no parent" in errors[1]["message"]
    assert await titled(system, title) == []


async def test_the_permission_matrix_holds_for_every_row(system: RunningSystem) -> None:
    tag = secrets.token_hex(3)
    department = f"Ops-{tag}"
    employee, as_employee = await system.user("employee", department=department)
    colleague, _ = await system.user("employee", department=department)
    _, as_manager = await system.user("manager", department=department)
    hidden = await make(system, title=f"Hidden {tag}", level="team", department=f"Else-{tag}")
    mine = {"title": f"Mine {tag}", "level": "individual", "year": 2026}
    rows = [
        {**mine, "key": "ok"},
        {**mine, "key": "theirs", "owner": colleague["username"]},
        {**mine, "key": "team", "level": "team"},
        {**mine, "key": "hidden", "parent": str(hidden["id"])},
    ]
    response = await post_csv(system, rows, as_employee)
    assert response.status_code == 422, response.text
    problems = {p["row"]: p["message"] for p in response.json()["errors"]}
    assert sorted(problems) == [2, 3, 4]
    assert "only for themselves" in problems[2]
    assert "only individual" in problems[3]
    assert "no objective that id" in problems[4]  # out of view reads as missing

    allowed = await post_csv(system, rows[:1], as_employee)
    assert allowed.status_code == 201, allowed.text
    created = allowed.json()["created"][0]["id"]
    got = await system.client.get(f"/api/v1/objectives/{created}", headers=as_employee)
    assert got.json()["owner_id"] == employee["id"]

    elsewhere = [{**mine, "key": "x", "level": "team", "department": f"Else-{tag}"}]
    response = await post_csv(system, elsewhere, as_manager)
    assert response.status_code == 422
    assert "own department" in response.json()["errors"][0]["message"]


async def test_bodies_that_are_not_an_import_are_refused_with_what_to_fix(
    system: RunningSystem,
) -> None:
    admin = system.admin_headers

    async def post(body: bytes, content_type: str) -> Any:
        return await system.client.post(
            URL, content=body, headers={**admin, "Content-Type": content_type}
        )

    plain = await post(b"key,title\n", "text/plain")
    assert plain.status_code == 415
    assert "text/csv" in plain.json()["detail"]
    unknown = await post(b"key,title,colour\na,b,red\n", "text/csv")
    assert unknown.status_code == 422
    assert "'colour'" in unknown.json()["detail"]
    assert (await post(b"key,title\n", "text/csv")).json()["detail"] == "the import has no rows"
    assert (await post(b"{not json", "application/json")).status_code == 422
    assert (await post(b'{"key": "a"}', "application/json")).status_code == 422
    assert (await post(b"key,title\n\xff,x\n", "text/csv")).status_code == 422
    many = b"key,title,level,year\n" + b"".join(
        f"k{i},T,team,2026\n".encode() for i in range(10_001)
    )
    too_many = await post(many, "text/csv")
    assert too_many.status_code == 422
    assert "at most 10,000" in too_many.json()["detail"]
    extra = await post(b"key,title,level,year\na,T,team,2026,surplus\n", "text/csv")
    assert extra.json()["errors"][0]["message"] == "more cells than the header"

    _, user = await system.user("employee", department="Sales")
    created = await system.post_api_key(user, name="reader", scopes=["objectives:read"])
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    response = await system.client.post(URL, json=[], headers=key)
    assert response.status_code == 403


@pytest.mark.timeout(300)
async def test_ten_thousand_objectives_in_one_import(system: RunningSystem) -> None:
    """More than a NATS message holds: the rows travel as a parcel. (In a year of their own:
    other tests list the objectives of 2026, 500 at most.)"""
    tag = secrets.token_hex(3)
    rows = [{"key": "c", "title": f"Big {tag}", "level": "company", "year": 2032}]
    rows += [
        {"key": f"d{d}", "title": f"Division {d} of a long import", "level": "division",
         "year": 2032, "parent": "c"}
        for d in range(10)
    ]  # fmt: skip
    rows += [
        {"key": f"t{n}", "title": f"Team {n} of a rather long import, to make it large",
         "level": "team", "year": 2032, "parent": f"d{n % 10}"}
        for n in range(10_000 - len(rows))
    ]  # fmt: skip
    response = await post_csv(system, rows)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["objectives"] == 10_000
    root = response.json()["created"][0]
    tree = await system.client.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": root["id"]},
        headers=system.admin_headers,
    )
    divisions = tree.json()[0]["children"]
    assert sum(len(d["children"]) for d in divisions) == 9_989
    await system.settled(timeout_s=200)  # 10,000 events through every service
