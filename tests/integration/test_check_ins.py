"""Check-ins through the public API: who may make them, what the server stamps, how they page,
the objective's `last_check_in` on every read, and the `objective.checked_in` event."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta

import nats

from okr_shared import subjects
from tests.support.objectives import make
from tests.support.system import RunningSystem


async def test_a_check_in_is_stamped_paged_newest_first_and_shown_on_every_read(
    system: RunningSystem,
) -> None:
    client, admin = system.client, system.admin_headers
    dept = f"CI-{secrets.token_hex(3)}"
    owner, headers = await system.user("employee", department=dept)
    objective = await make(
        system,
        title="Ship it",
        level="company",
        owner_id=owner["id"],
        department=dept,
        progress_percentage=42.5,
    )
    path = f"/api/v1/objectives/{objective['id']}"
    before = datetime.now(UTC)
    made = []
    for n, status in enumerate(("on_track", "at_risk", "off_track")):
        response = await client.post(
            f"{path}/check-ins",
            json={"status": status, "confidence": n + 4, "note": f"week {n}"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    first = made[0]
    assert first["author_id"] == owner["id"]
    assert first["progress_percentage"] == 42.5
    assert (
        before - timedelta(seconds=1)
        <= datetime.fromisoformat(first["at"])
        <= datetime.now(UTC) + timedelta(seconds=1)
    )
    assert (first["status"], first["confidence"], first["note"]) == ("on_track", 4, "week 0")

    page = (await client.get(f"{path}/check-ins", headers=admin)).json()
    assert page["total"] == 3 and (page["skip"], page["limit"]) == (0, 20)
    assert [c["id"] for c in page["items"]] == [c["id"] for c in reversed(made)]
    second = (await client.get(f"{path}/check-ins?skip=1&limit=1", headers=headers)).json()
    assert [c["id"] for c in second["items"]] == [made[1]["id"]]

    newest = made[-1]
    detail = (await client.get(path, headers=headers)).json()
    assert detail["last_check_in"] == newest
    listed = await client.get("/api/v1/objectives", params={"owner_id": owner["id"]}, headers=admin)
    assert [o["last_check_in"] for o in listed.json()["items"]] == [newest]
    tree = await client.get(
        "/api/v1/objectives/tree/view", params={"root_id": objective["id"]}, headers=admin
    )
    assert tree.json()[0]["last_check_in"] == newest
    # Not an edit: the objective's version, and an If-Match on it, still hold.
    assert detail["version"] == objective["version"]
    renamed = await client.put(
        path,
        json={"title": "Shipped"},
        headers={**headers, "If-Match": f'"{objective["version"]}"'},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["last_check_in"] == newest


async def test_who_may_update_may_check_in_and_no_one_else(system: RunningSystem) -> None:
    client = system.client
    dept, other = f"CA-{secrets.token_hex(3)}", f"CB-{secrets.token_hex(3)}"
    owner, owner_headers = await system.user("employee", department=dept)
    _, colleague = await system.user("employee", department=dept)
    _, manager = await system.user("manager", department=dept)
    elsewhere, elsewhere_headers = await system.user("manager", department=other)
    _, integration = await system.user("integration", department=None)
    mine = await make(system, title="Mine", level="team", owner_id=owner["id"], department=dept)
    # A manager sees the objectives they own in another department, but may not update them.
    theirs = await make(
        system, title="Theirs", level="team", owner_id=elsewhere["id"], department=dept
    )
    body = {"status": "on_track"}

    async def post(objective_id: int, headers: dict[str, str]) -> int:
        url = f"/api/v1/objectives/{objective_id}/check-ins"
        return (await client.post(url, json=body, headers=headers)).status_code

    assert await post(mine["id"], owner_headers) == 201
    assert await post(mine["id"], manager) == 201
    assert await post(mine["id"], system.admin_headers) == 201
    assert await post(mine["id"], colleague) == 404  # out of their view: as if missing
    assert await post(theirs["id"], elsewhere_headers) == 403
    assert await post(mine["id"], integration) == 403
    assert await post(10**15, system.admin_headers) == 404
    reads = await client.get(f"/api/v1/objectives/{mine['id']}/check-ins", headers=colleague)
    assert reads.status_code == 404
    anonymous = await client.get(f"/api/v1/objectives/{mine['id']}/check-ins")
    assert anonymous.status_code == 401


async def test_bad_check_ins_are_refused_with_what_to_fix(system: RunningSystem) -> None:
    objective = await make(system, title="Strict", level="company")
    url = f"/api/v1/objectives/{objective['id']}/check-ins"
    for body, field in (
        ({}, "status"),
        ({"status": "fine"}, "status"),
        ({"status": "on_track", "confidence": 11}, "confidence"),
        ({"status": "on_track", "confidence": -1}, "confidence"),
        ({"status": "on_track", "note": "x" * 2001}, "note"),
        ({"status": "on_track", "author_id": 1}, "author_id"),  # the server's to say
        ({"status": "on_track", "progress_percentage": 99}, "progress_percentage"),
    ):
        response = await system.client.post(url, json=body, headers=system.admin_headers)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (body, response.text)
    page = await system.client.get(url, headers=system.admin_headers)
    assert page.json()["total"] == 0
    at_the_limit = {"status": "on_track", "confidence": 10, "note": "x" * 2000}
    made = await system.client.post(url, json=at_the_limit, headers=system.admin_headers)
    assert made.status_code == 201, made.text


async def test_a_check_in_publishes_objective_checked_in(system: RunningSystem) -> None:
    objective = await make(system, title="Loud", level="company")
    client = await nats.connect(system.nats_url)
    try:
        heard = await client.subscribe(subjects.OBJECTIVE_CHECKED_IN)
        response = await system.client.post(
            f"/api/v1/objectives/{objective['id']}/check-ins",
            json={"status": "at_risk", "confidence": 3},
            headers=system.admin_headers,
        )
        assert response.status_code == 201
        while True:
            msg = await asyncio.wait_for(heard.next_msg(timeout=10), 10)
            event = json.loads(msg.data)
            if event["check_in"]["objective_id"] == objective["id"]:
                break
    finally:
        await client.close()
    assert event["type"] == "objective.checked_in"
    assert event["check_in"] == response.json()
