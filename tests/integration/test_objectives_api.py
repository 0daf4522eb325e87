"""The objectives API through the gateway, on real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sqlalchemy import text

from tests.support.objectives import make, tree
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]


async def test_list_filters_and_pages(system: RunningSystem) -> None:
    dept = f"L-{secrets.token_hex(3)}"
    made = [
        await make(
            system, title=f"T{i}", level="team", department=dept, quarter="Q2" if i % 2 else "Q1"
        )
        for i in range(5)
    ]
    response = await system.client.get(
        "/api/v1/objectives",
        params={"department": dept, "limit": 2, "skip": 1},
        headers=system.admin_headers,
    )
    page = response.json()
    assert (page["total"], page["skip"], page["limit"]) == (5, 1, 2)
    assert [o["id"] for o in page["items"]] == [made[1]["id"], made[2]["id"]]
    q2 = await system.client.get(
        "/api/v1/objectives",
        params={"department": dept, "quarter": "Q2"},
        headers=system.admin_headers,
    )
    assert {o["id"] for o in q2.json()["items"]} == {made[1]["id"], made[3]["id"]}
    too_many = await system.client.get(
        "/api/v1/objectives", params={"limit": 501}, headers=system.admin_headers
    )
    assert too_many.status_code == 422


async def test_detail_children_ancestors(system: RunningSystem) -> None:
    company, division, team, person = await tree(system)
    detail = (
        await system.client.get(
            f"/api/v1/objectives/{division['id']}", headers=system.admin_headers
        )
    ).json()
    assert (detail["parent_title"], detail["child_count"], detail["kpi_count"]) == ("Company", 1, 0)
    kids = await system.client.get(
        f"/api/v1/objectives/{division['id']}/children", headers=system.admin_headers
    )
    assert [k["id"] for k in kids.json()] == [team["id"]]
    up = await system.client.get(
        f"/api/v1/objectives/{person['id']}/ancestors", headers=system.admin_headers
    )
    assert [a["id"] for a in up.json()] == [team["id"], division["id"], company["id"]]


async def test_update_is_partial_and_honours_if_match(system: RunningSystem) -> None:
    objective = await make(system, title="Old", level="team", description="keep me")
    url = f"/api/v1/objectives/{objective['id']}"
    changed = await system.client.put(
        url, json={"title": "New"}, headers={**system.admin_headers, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["description"], changed.json()["version"]) == (
        "New",
        "keep me",
        2,
    )
    assert changed.headers["etag"] == '"2"'
    stale = await system.client.put(
        url, json={"title": "Lost"}, headers={**system.admin_headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert "you sent version 1, it is now at version 2" in stale.json()["detail"]
    stale_body = await system.client.put(
        url, json={"title": "Lost", "version": 1}, headers=system.admin_headers
    )
    assert stale_body.status_code == 409
    bad = await system.client.put(
        url, json={"title": None, "created_by": 5}, headers=system.admin_headers
    )
    assert bad.status_code == 422
    assert (await system.client.get(url, headers=system.admin_headers)).json()["title"] == "New"


async def test_concurrent_puts_with_one_version_have_exactly_one_winner(
    system: RunningSystem,
) -> None:
    objective = await make(system, title="Contested", level="team")
    url = f"/api/v1/objectives/{objective['id']}"
    responses = await asyncio.gather(
        *(
            system.client.put(
                url,
                json={"title": f"Writer {i}"},
                headers={**system.admin_headers, "If-Match": '"1"'},
            )
            for i in range(8)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 7
    winner = next(r.json()["title"] for r in responses if r.status_code == 200)
    final = (await system.client.get(url, headers=system.admin_headers)).json()
    assert (final["title"], final["version"]) == (winner, 2)


async def test_delete_takes_the_subtree_and_restore_brings_it_back(system: RunningSystem) -> None:
    company, division, team, person = await tree(system)
    gone = await system.client.delete(
        f"/api/v1/objectives/{division['id']}", headers=system.admin_headers
    )
    assert gone.status_code == 204
    for objective in (division, team, person):
        missing = await system.client.get(
            f"/api/v1/objectives/{objective['id']}", headers=system.admin_headers
        )
        assert missing.status_code == 404
    kids = await system.client.get(
        f"/api/v1/objectives/{company['id']}/children", headers=system.admin_headers
    )
    assert kids.json() == []

    async def projected_deleted() -> bool:
        async with system.engine.connect() as db:
            rows = await db.execute(
                text("SELECT bool_and(deleted) FROM progress.objectives WHERE id = ANY(:ids)"),
                {"ids": [division["id"], team["id"], person["id"]]},
            )
            return bool(rows.scalar())

    await eventually(projected_deleted)
    restored = await system.client.post(
        f"/api/v1/objectives/{division['id']}/restore", headers=system.admin_headers
    )
    assert restored.status_code == 200, restored.text
    up = await system.client.get(
        f"/api/v1/objectives/{person['id']}/ancestors", headers=system.admin_headers
    )
    assert [a["id"] for a in up.json()] == [team["id"], division["id"], company["id"]]
    again = await system.client.post(
        f"/api/v1/objectives/{division['id']}/restore", headers=system.admin_headers
    )
    assert again.status_code == 409


async def test_stale_delete_is_refused(system: RunningSystem) -> None:
    objective = await make(system, title="Keep", level="team")
    url = f"/api/v1/objectives/{objective['id']}"
    await system.client.put(url, json={"title": "Changed"}, headers=system.admin_headers)
    stale = await system.client.delete(url, headers={**system.admin_headers, "If-Match": '"1"'})
    assert stale.status_code == 409
    malformed = await system.client.delete(
        url, headers={**system.admin_headers, "If-Match": "yesterday"}
    )
    assert malformed.status_code == 422


async def test_move_checks_levels_and_cycles_also_through_put(system: RunningSystem) -> None:
    company, division, team, person = await tree(system)
    other = await make(system, title="Other division", level="division", parent_id=company["id"])
    moved = await system.client.post(
        f"/api/v1/objectives/{team['id']}/move",
        json={"new_parent_id": other["id"]},
        headers=system.admin_headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == other["id"]
    up = await system.client.get(
        f"/api/v1/objectives/{person['id']}/ancestors", headers=system.admin_headers
    )
    assert [a["id"] for a in up.json()] == [team["id"], other["id"], company["id"]]

    second = await make(system, title="Second division", level="division")  # top level: no parent
    under_itself = await system.client.post(
        f"/api/v1/objectives/{second['id']}/move",
        json={"new_parent_id": second["id"]},
        headers=system.admin_headers,
    )
    assert under_itself.status_code == 422
    assert "would make a cycle" in under_itself.json()["detail"]
    sibling_team = await make(system, title="Sibling team", level="team", parent_id=other["id"])
    cases = [
        (team["id"], {"new_parent_id": person["id"]}, "would make a cycle"),
        (company["id"], {"new_parent_id": other["id"]}, "a company objective has no parent"),
        (team["id"], {"new_parent_id": team["id"]}, "would make a cycle"),
        (team["id"], {"new_parent_id": sibling_team["id"]}, "cannot sit under a team objective"),
        (team["id"], {"new_parent_id": 987654321}, "no such objective"),
    ]
    for objective_id, body, message in cases:
        response = await system.client.post(
            f"/api/v1/objectives/{objective_id}/move", json=body, headers=system.admin_headers
        )
        assert response.status_code == 422, response.text
        assert message in response.json()["detail"]
    via_put = await system.client.put(
        f"/api/v1/objectives/{team['id']}",
        json={"parent_id": person["id"]},
        headers=system.admin_headers,
    )
    assert via_put.status_code == 422
    assert "would make a cycle" in via_put.json()["detail"]
    to_top = await system.client.post(
        f"/api/v1/objectives/{team['id']}/move",
        json={"new_parent_id": None},
        headers=system.admin_headers,
    )
    assert to_top.json()["parent_id"] is None


async def test_cycle_through_a_deeper_descendant_is_refused(system: RunningSystem) -> None:
    top = await make(system, title="Top", level="division")
    middle = await make(system, title="Middle", level="team", parent_id=top["id"])
    # Only levels stand in the way at depth one; make it a pure cycle question at depth two.
    bottom = await make(system, title="Bottom", level="individual", parent_id=middle["id"])
    response = await system.client.post(
        f"/api/v1/objectives/{middle['id']}/move",
        json={"new_parent_id": bottom["id"]},
        headers=system.admin_headers,
    )
    assert response.status_code == 422


async def test_tree_view_nests_and_filters(system: RunningSystem) -> None:
    company, division, team, person = await tree(system)
    await make(
        system, title="Abandoned team", level="team", parent_id=division["id"], status="abandoned"
    )
    response = await system.client.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": company["id"]},
        headers=system.admin_headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    (root,) = response.json()
    assert root["id"] == company["id"]
    (div,) = root["children"]
    assert [c["title"] for c in div["children"]] == ["Team", "Abandoned team"]
    assert div["children"][0]["children"][0]["id"] == person["id"]
    active = await system.client.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": company["id"], "status": "active"},
        headers=system.admin_headers,
    )
    assert [c["title"] for c in active.json()[0]["children"][0]["children"]] == ["Team"]
    missing = await system.client.get(
        "/api/v1/objectives/tree/view", params={"root_id": 987654321}, headers=system.admin_headers
    )
    assert missing.status_code == 404


async def test_stats_gantt_and_history(system: RunningSystem) -> None:
    owner, headers = await system.user("employee", department="Stats")
    first = await make(system, headers, title="A", level="individual", progress_percentage=20)
    await make(
        system, headers, title="B", level="individual", progress_percentage=60, status="completed"
    )
    stats = (
        await system.client.get(
            "/api/v1/objectives/stats/summary",
            params={"owner_id": owner["id"]},
            headers=system.admin_headers,
        )
    ).json()
    assert stats["total"] == 2
    assert stats["by_level"]["individual"] == 2 and stats["by_level"]["company"] == 0
    assert (stats["by_status"]["active"], stats["by_status"]["completed"]) == (1, 1)
    assert stats["average_progress"] == 40

    gantt = (await system.client.get("/api/v1/objectives/gantt/view", headers=headers)).json()
    assert [(g["title"], g["progress"], g["start"]) for g in gantt] == [
        ("A", 20, "2026-01-01"),
        ("B", 60, "2026-01-01"),
    ]

    await system.client.put(
        f"/api/v1/objectives/{first['id']}",
        json={"title": "A2", "progress_percentage": 30},
        headers=headers,
    )
    history = (
        await system.client.get(f"/api/v1/objectives/{first['id']}/history", headers=headers)
    ).json()
    assert [h["action"] for h in history] == ["updated", "created"]
    assert history[0]["actor_id"] == owner["id"]
    assert history[0]["changes"]["title"] == ["A", "A2"]
    assert history[0]["changes"]["progress_percentage"] == [20, 30]
