"""API keys for programs (issue 13, part 3): shown once, stored hashed, acting as their owner
narrowed to their scopes, refused from the request after their revocation, with a write limit
of their own."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from okr_gateway.api_keys import MAX_KEYS_PER_USER
from tests.support.gateways import client_at, extra_gateway
from tests.support.objectives import make
from tests.support.system import RunningSystem

KEYS = "/api/v1/api-keys"
H = dict[str, str]


async def make_key(system: RunningSystem, headers: H, scopes: list[str], **body: Any) -> Any:
    response = await system.post_api_key(headers, name="a job", scopes=scopes, **body)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> H:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_stored_hashed_and_ends_when_revoked(
    system: RunningSystem,
) -> None:
    user, headers = await system.user("employee")
    response = await system.post_api_key(headers, name="nightly import", scopes=["objectives:read"])
    assert response.status_code == 201, response.text
    created = response.json()
    key = created["key"]
    assert re.fullmatch(r"okr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    assert key.startswith(f"okr_{created['prefix']}_")
    assert (created["name"], created["scopes"], created["user_id"]) == (
        "nightly import",
        ["objectives:read"],
        user["id"],
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["location"] == f"{KEYS}/{created['id']}"
    secret = key.split("_", 2)[2]  # after okr_<prefix>_: the secret may hold "_" itself

    listed = await system.client.get(KEYS, headers=headers)
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]
    assert "key" not in listed.json()["items"][0] and secret not in listed.text

    async with system.engine.connect() as db:
        row = (
            await db.execute(
                text("SELECT digest, row_to_json(k)::text FROM identity.api_keys k WHERE id = :id"),
                {"id": created["id"]},
            )
        ).one()
    assert bytes(row[0]) == hashlib.sha256(key.encode()).digest()
    assert secret not in row[1]

    assert (await system.client.get("/api/v1/objectives", headers=bearer(key))).status_code == 200
    revoked = await system.client.delete(f"{KEYS}/{created['id']}", headers=headers)
    assert revoked.status_code == 204
    refused = await system.client.get("/api/v1/objectives", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the API key was revoked"
    after = (await system.client.get(KEYS, headers=headers)).json()["items"][0]
    assert after["revoked_at"] is not None

    log = await system.client.get(
        "/api/v1/audit/security", params={"user_id": user["id"]}, headers=system.admin_headers
    )
    kinds = [(e["kind"], e["api_key_id"]) for e in log.json()["items"]]
    assert ("api_key_created", created["id"]) in kinds
    assert ("api_key_revoked", created["id"]) in kinds
    assert secret not in log.text


async def test_making_a_key_takes_the_password_again(system: RunningSystem) -> None:
    """A key outlives sign-outs and password changes: a stolen session token alone must not be
    able to make one. A wrong password counts as a failed sign-in, throttled like one."""
    user, headers = await system.user("employee")
    body = {"name": "from a stolen token", "scopes": ["objectives:read"]}
    missing = await system.client.post(KEYS, json=body, headers=headers)
    assert missing.status_code == 422, missing.text
    assert "current_password" in missing.text
    answers: list[int] = []
    while 429 not in answers and len(answers) < 8:
        answer = await system.client.post(
            KEYS, json={**body, "current_password": "guess"}, headers=headers
        )
        answers.append(answer.status_code)
    # Five free failures; the sixth locks the account for 1 s, during which the next is a 429
    # (or, on a slow machine, the one after: the seventh locks it for 2 s).
    assert answers[:6] == [403] * 6 and answers[-1] == 429, answers
    assert (await system.client.get(KEYS, headers=headers)).json()["total"] == 0
    log = await system.client.get(
        "/api/v1/audit/security", params={"user_id": user["id"]}, headers=system.admin_headers
    )
    details = [e["detail"] for e in log.json()["items"] if e["kind"] == "sign_in_failed"]
    assert details.count("wrong current password at making an API key") == len(answers) - 1


async def test_wrong_and_malformed_keys_are_refused(system: RunningSystem) -> None:
    _, headers = await system.user("employee")
    key = (await make_key(system, headers, ["objectives:read"]))["key"]
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for wrong, detail in (
        (tampered, "the API key is not valid"),
        (f"okr_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}", "the API key is not valid"),
        ("okr_nothex_x", "the API key is malformed: expected okr_<prefix>_<secret>"),
        ("okr_", "the API key is malformed: expected okr_<prefix>_<secret>"),
    ):
        response = await system.client.get("/api/v1/objectives", headers=bearer(wrong))
        assert response.status_code == 401, wrong
        assert response.json()["detail"] == detail


async def test_a_key_acts_as_its_owner(system: RunningSystem) -> None:
    dept = f"K-{secrets.token_hex(3)}"
    owner, headers = await system.user("employee", department=dept)
    key = (await make_key(system, headers, ["objectives:read", "objectives:write"]))["key"]
    company = await make(system, title="Not theirs", level="company")
    mine = await make(system, headers=bearer(key), title="Through a key", level="individual")
    assert mine["owner_id"] == owner["id"] and mine["department"] == dept
    as_key = await system.client.get(f"/api/v1/objectives/{company['id']}", headers=bearer(key))
    as_token = await system.client.get(f"/api/v1/objectives/{company['id']}", headers=headers)
    assert as_key.status_code == as_token.status_code == 404
    me = await system.client.get("/api/v1/auth/me", headers=bearer(key))
    assert me.json()["id"] == owner["id"]


async def test_a_key_holds_only_scopes_its_owners_role_can_use(system: RunningSystem) -> None:
    _, employee = await system.user("employee")
    _, integration = await system.user("integration", department=None)
    for headers, scopes, role, scope in (
        (employee, ["objectives:read", "webhooks:manage"], "employee", "webhooks:manage"),
        (integration, ["kpis:read", "objectives:write"], "integration", "objectives:write"),
        (integration, ["kpis:write"], "integration", "kpis:write"),
    ):
        response = await system.post_api_key(headers, name="x", scopes=scopes)
        assert response.status_code == 403, response.text
        assert response.json()["detail"] == (
            f"the {role} role cannot use {scope}: a key may hold only its owner's rights"
        )
    await make_key(system, integration, ["kpis:read", "values:write"])
    await make_key(system, system.admin_headers, ["webhooks:manage"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for body in (
        {"name": "x", "scopes": ["everything"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["kpis:read"]},
        {"name": "x", "scopes": ["kpis:read"], "expires_at": past},
        {"name": "x", "scopes": ["kpis:read"], "expires_at": "2030-01-01T00:00:00"},  # no zone
        {"name": "x", "scopes": ["kpis:read"], "user_id": 1},
    ):
        response = await system.post_api_key(employee, **body)
        assert response.status_code == 422, (body, response.text)


async def test_a_demoted_owners_keys_lose_what_the_new_role_cannot_use(
    system: RunningSystem,
) -> None:
    owner, headers = await system.user("manager")
    key = (await make_key(system, headers, ["kpis:read", "kpis:write"]))["key"]
    demoted = await system.client.put(
        f"/api/v1/users/{owner['id']}", json={"role": "integration"}, headers=system.admin_headers
    )
    assert demoted.status_code == 200
    body = {"name": "x", "unit": "%", "target_value": 1, "direction": "increase"}
    refused = await system.client.post("/api/v1/kpis", json=body, headers=bearer(key))
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("this API key lacks the scope kpis:write")
    assert (await system.client.get("/api/v1/kpis", headers=bearer(key))).status_code == 200


async def test_expired_and_deactivated_owners_keys_are_refused(system: RunningSystem) -> None:
    owner, headers = await system.user("employee")
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = await make_key(system, headers, ["kpis:read"], expires_at=soon)
    assert (await system.client.get("/api/v1/kpis", headers=bearer(expiring["key"]))).is_success
    async with system.engine.begin() as db:  # an hour later
        await db.execute(
            text("UPDATE identity.api_keys SET expires_at = now() - interval '1 s' WHERE id = :i"),
            {"i": expiring["id"]},
        )
    expired = await system.client.get("/api/v1/kpis", headers=bearer(expiring["key"]))
    assert (expired.status_code, expired.json()["detail"]) == (401, "the API key has expired")

    key = (await make_key(system, headers, ["kpis:read"]))["key"]
    url = f"/api/v1/users/{owner['id']}"
    assert (await system.client.delete(url, headers=system.admin_headers)).status_code == 204
    assert (await system.client.get("/api/v1/kpis", headers=bearer(key))).status_code == 401
    await system.client.put(url, json={"is_active": True}, headers=system.admin_headers)
    back = await system.client.get("/api/v1/kpis", headers=bearer(key))
    assert (back.status_code, back.json()["detail"]) == (401, "the API key was revoked")


async def test_last_used_at_is_written_at_most_once_a_minute(system: RunningSystem) -> None:
    _, headers = await system.user("employee")
    created = await make_key(system, headers, ["kpis:read"])
    assert created["last_used_at"] is None

    async def last_used() -> str | None:
        items = (await system.client.get(KEYS, headers=headers)).json()["items"]
        used: str | None = items[0]["last_used_at"]
        return used

    await system.client.get("/api/v1/kpis", headers=bearer(created["key"]))
    first = await last_used()
    assert first is not None
    await system.client.get("/api/v1/kpis", headers=bearer(created["key"]))
    assert await last_used() == first
    async with system.engine.begin() as db:  # two minutes later
        await db.execute(
            text(
                "UPDATE identity.api_keys SET last_used_at = last_used_at - interval '2 min' "
                "WHERE id = :i"
            ),
            {"i": created["id"]},
        )
    await system.client.get("/api/v1/kpis", headers=bearer(created["key"]))
    assert await last_used() not in (None, first)


async def test_people_see_and_revoke_their_own_keys_and_admins_anyones(
    system: RunningSystem,
) -> None:
    alice, alice_headers = await system.user("employee")
    _, bob_headers = await system.user("employee")
    alices = await make_key(system, alice_headers, ["kpis:read"])
    bobs_view = await system.client.get(KEYS, headers=bob_headers)
    assert alices["id"] not in [k["id"] for k in bobs_view.json()["items"]]
    assert (
        await system.client.get(KEYS, params={"user_id": alice["id"]}, headers=bob_headers)
    ).status_code == 403
    assert (
        await system.client.delete(f"{KEYS}/{alices['id']}", headers=bob_headers)
    ).status_code == 404
    admin_view = await system.client.get(
        KEYS, params={"user_id": alice["id"]}, headers=system.admin_headers
    )
    assert [k["id"] for k in admin_view.json()["items"]] == [alices["id"]]
    assert (
        await system.client.delete(f"{KEYS}/{alices['id']}", headers=system.admin_headers)
    ).status_code == 204
    assert (
        await system.client.get("/api/v1/kpis", headers=bearer(alices["key"]))
    ).status_code == 401


async def test_keys_have_a_write_limit_of_their_own(system: RunningSystem, tmp_path: Path) -> None:
    _, headers = await system.user("employee")
    key = (await make_key(system, headers, ["objectives:write"]))["key"]
    body = {"title": "Mine", "level": "individual", "year": 2026}
    async with (
        extra_gateway(system, tmp_path, writes_per_minute=2, key_writes_per_minute=4) as app,
        client_at(app, "127.0.0.1") as http,
    ):

        async def accepted_until_refused(who: H) -> tuple[int, Any]:
            for accepted in range(12):
                answer = await http.post("/api/v1/objectives", json=body, headers=who)
                if answer.status_code != 201:
                    return accepted, answer
            raise AssertionError("never limited")

        person, person_refusal = await accepted_until_refused(headers)
        program, program_refusal = await accepted_until_refused(bearer(key))
    # The person's limit was spent first; the key still had its own. (A minute may turn over
    # in between, which allows up to one more window's worth.)
    assert person in (2, 3, 4) and program in (4, 5, 6, 7, 8), (person, program)
    for refusal, limit in ((person_refusal, 2), (program_refusal, 4)):
        assert refusal.status_code == 429
        assert 1 <= int(refusal.headers["retry-after"]) <= 60
        assert refusal.json()["detail"].startswith(f"more than {limit} writes in a minute")


async def test_a_user_holds_a_bounded_number_of_keys(system: RunningSystem) -> None:
    """Each key has a write limit of its own: keys without number would multiply a user's."""
    _, headers = await system.user("employee")
    made = [await make_key(system, headers, ["kpis:read"]) for _ in range(MAX_KEYS_PER_USER)]
    refused = await system.post_api_key(headers, name="one too many", scopes=["kpis:read"])
    assert refused.status_code == 409, refused.text
    assert "revoke one" in refused.json()["detail"]
    gone = await system.client.delete(f"{KEYS}/{made[0]['id']}", headers=headers)
    assert gone.status_code == 204
    await make_key(system, headers, ["kpis:read"])  # room again
