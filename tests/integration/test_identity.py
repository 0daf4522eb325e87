"""Sign-in, tokens, and the admin-only users API, through the gateway against real PostgreSQL."""

from __future__ import annotations

import secrets
import warnings
from datetime import UTC, datetime, timedelta

import jwt

from tests.support.system import ADMIN_PASSWORD, RunningSystem

LOGIN = "/api/v1/auth/login"


async def test_login_accepts_the_oauth2_form_and_json(system: RunningSystem) -> None:
    form = await system.client.post(LOGIN, data={"username": "admin", "password": ADMIN_PASSWORD})
    as_json = await system.client.post(
        LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    for response in (form, as_json):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 3600
        me = await system.client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["username"] == "admin"
        assert me.json()["role"] == "admin"
        assert "password" not in me.text and "password_hash" not in me.json()


async def test_wrong_password_and_unknown_user_get_the_same_401(system: RunningSystem) -> None:
    wrong = await system.client.post(
        LOGIN, data={"username": "admin", "password": "not-the-password"}
    )
    unknown = await system.client.post(
        LOGIN, data={"username": "nobody-here", "password": "whatever1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"detail": "incorrect username or password", "code": "unauthorized", "errors": []}
    )


async def test_login_without_credentials_says_what_is_missing(system: RunningSystem) -> None:
    response = await system.client.post(LOGIN, json={"username": "admin"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["password"]
    plain = await system.client.post(
        LOGIN, content=b"hello", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 422
    assert "form or as JSON" in plain.json()["detail"]


async def test_every_api_route_but_login_answers_401_without_a_token(system: RunningSystem) -> None:
    paths = {p: ops for p, ops in system.app.openapi()["paths"].items() if p.startswith("/api/v1")}
    operations = [(m.upper(), p) for p, ops in paths.items() for m in ops if p != LOGIN]
    assert len(operations) >= 8
    for method, template in operations:
        path = template.replace("{user_id}", "1").replace("{objective_id}", "1")
        path = path.replace("{kpi_id}", "1").replace("{key_id}", "1")
        response = await system.client.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def good_claims(now: datetime) -> dict[str, object]:
    return {
        "sub": "1",
        "gen": 0,
        "iss": "okr",
        "aud": "okr-api",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }


async def test_tokens_are_checked_for_signature_audience_issuer_and_expiry(
    system: RunningSystem,
) -> None:
    secret = system.app.state.gateway.tokens.secret
    now = datetime.now(UTC)
    with warnings.catch_warnings():  # pyjwt warns that this secret is short for HS512: the point
        warnings.simplefilter("ignore")
        other_algorithm = jwt.encode(good_claims(now), secret, algorithm="HS512")
    good = good_claims(now)
    forged = [
        jwt.encode(good, "another-secret-of-at-least-32-characters", algorithm="HS256"),
        jwt.encode({**good, "aud": "someone-else"}, secret, algorithm="HS256"),
        jwt.encode({**good, "iss": "someone-else"}, secret, algorithm="HS256"),
        jwt.encode({**good, "exp": now - timedelta(seconds=1)}, secret, algorithm="HS256"),
        other_algorithm,  # the algorithm is pinned
        jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256"),
        jwt.encode({k: v for k, v in good.items() if k != "gen"}, secret, algorithm="HS256"),
        jwt.encode({**good, "gen": "0"}, secret, algorithm="HS256"),
        jwt.encode({**good, "gen": 1}, secret, algorithm="HS256"),  # not the user's generation
        "not-a-jwt",
    ]
    for token in forged:
        response = await system.client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
    accepted = jwt.encode(good, secret, algorithm="HS256")
    assert (
        await system.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {accepted}"})
    ).status_code == 200


async def test_admin_manages_users_and_passwords_are_write_only(system: RunningSystem) -> None:
    username = f"carol-{secrets.token_hex(3)}"
    created = await system.client.post(
        "/api/v1/users",
        json={
            "username": username.upper(),
            "password": "s3cret-pass",
            "full_name": "Carol",
            "email": "carol@example.com",
            "role": "manager",
            "department": "Finance",
        },
        headers=system.admin_headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["username"] == username  # stored in lower case
    assert set(user) == {
        "id",
        "username",
        "full_name",
        "email",
        "role",
        "department",
        "is_active",
        "created_at",
        "updated_at",
    }
    assert created.headers["location"] == f"/api/v1/users/{user['id']}"

    duplicate = await system.client.post(
        "/api/v1/users",
        json={"username": username, "password": "another-pass"},
        headers=system.admin_headers,
    )
    assert duplicate.status_code == 409

    listed = await system.client.get(
        "/api/v1/users",
        params={"department": "Finance", "limit": 500},
        headers=system.admin_headers,
    )
    assert listed.status_code == 200
    page = listed.json()
    assert {"items", "total", "skip", "limit"} == set(page)
    assert user["id"] in [u["id"] for u in page["items"]]

    fetched = await system.client.get(f"/api/v1/users/{user['id']}", headers=system.admin_headers)
    assert fetched.json() == user

    updated = await system.client.put(
        f"/api/v1/users/{user['id']}",
        json={"full_name": "Carol C.", "password": "new-pass-123"},
        headers=system.admin_headers,
    )
    assert updated.status_code == 200
    assert updated.json()["full_name"] == "Carol C."
    assert updated.json()["role"] == "manager"  # untouched fields stay
    await system.login(username, "new-pass-123")

    deleted = await system.client.delete(
        f"/api/v1/users/{user['id']}", headers=system.admin_headers
    )
    assert deleted.status_code == 204
    after = await system.client.get(f"/api/v1/users/{user['id']}", headers=system.admin_headers)
    assert after.json()["is_active"] is False
    refused = await system.client.post(
        LOGIN, data={"username": username, "password": "new-pass-123"}
    )
    assert refused.status_code == 401


async def test_a_deactivated_users_token_stops_working(system: RunningSystem) -> None:
    user, headers = await system.user("employee")
    assert (await system.client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    await system.client.delete(f"/api/v1/users/{user['id']}", headers=system.admin_headers)
    assert (await system.client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_users_api_is_admin_only(system: RunningSystem) -> None:
    for role in ("manager", "employee", "integration"):
        someone, headers = await system.user(role)
        for method, path in (
            ("GET", "/api/v1/users"),
            ("GET", f"/api/v1/users/{someone['id']}"),
            ("PUT", f"/api/v1/users/{someone['id']}"),
            ("DELETE", f"/api/v1/users/{someone['id']}"),
        ):
            response = await system.client.request(
                method, path, headers=headers, json={"full_name": "x"}
            )
            assert response.status_code == 403, (role, method, path)
        created = await system.client.post(
            "/api/v1/users",
            json={"username": f"x-{secrets.token_hex(3)}", "password": "password-1"},
            headers=headers,
        )
        assert created.status_code == 403


async def test_no_mass_assignment_and_clear_errors_on_users(system: RunningSystem) -> None:
    user, _ = await system.user("employee")
    sneaky = await system.client.put(
        f"/api/v1/users/{user['id']}",
        json={"id": 1, "password_hash": "x", "created_at": "2020-01-01"},
        headers=system.admin_headers,
    )
    assert sneaky.status_code == 422
    assert {e["loc"][-1] for e in sneaky.json()["errors"]} == {"id", "password_hash", "created_at"}
    bad = await system.client.post(
        "/api/v1/users",
        json={"username": "a", "password": "short", "role": "king", "email": "nope"},
        headers=system.admin_headers,
    )
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["errors"]} == {"username", "password", "role", "email"}
    missing = await system.client.get("/api/v1/users/987654321", headers=system.admin_headers)
    assert missing.status_code == 404


async def test_an_admin_cannot_lock_themselves_out(system: RunningSystem) -> None:
    me = (await system.client.get("/api/v1/auth/me", headers=system.admin_headers)).json()
    for response in (
        await system.client.delete(f"/api/v1/users/{me['id']}", headers=system.admin_headers),
        await system.client.put(
            f"/api/v1/users/{me['id']}", json={"role": "employee"}, headers=system.admin_headers
        ),
        await system.client.put(
            f"/api/v1/users/{me['id']}", json={"is_active": False}, headers=system.admin_headers
        ),
    ):
        assert response.status_code == 409


async def test_inputs_postgres_would_refuse_are_422_not_500(system: RunningSystem) -> None:
    user, _ = await system.user("employee")
    cases = [
        ("PUT", f"/api/v1/users/{user['id']}", {"full_name": None}),
        ("PUT", f"/api/v1/users/{user['id']}", {"role": None}),
        ("PUT", f"/api/v1/users/{user['id']}", {"full_name": "nul\x00byte"}),
        ("GET", f"/api/v1/users/{2**63}", None),
        ("GET", "/api/v1/users/0", None),
        ("GET", "/api/v1/users?skip=99999999999999999999", None),
        ("GET", "/api/v1/users?department=a%00b", None),
        ("GET", f"/api/v1/objectives/{2**64}", None),
        ("POST", "/api/v1/objectives", {"title": "x\x00", "level": "company", "year": 2026}),
        (
            "POST",
            "/api/v1/objectives",
            {"title": "x", "level": "team", "year": 2026, "parent_id": 2**63},
        ),
        (
            "POST",
            "/api/v1/objectives",
            {
                "title": "x",
                "level": "company",
                "year": 2026,
                "quarter": "Q1",
                "start_date": "2026-06-01",
            },
        ),
    ]
    for method, path, body in cases:
        response = await system.client.request(
            method, path, json=body, headers=system.admin_headers
        )
        assert response.status_code == 422, (method, path, body, response.text)
    nul_login = await system.client.post(
        LOGIN, data={"username": "ad\x00min", "password": "whatever"}
    )
    assert nul_login.status_code in (401, 422)


async def test_an_admin_sees_their_own_change_at_once(system: RunningSystem) -> None:
    admin, headers = await system.user("admin", department=None)
    response = await system.client.put(
        f"/api/v1/users/{admin['id']}", json={"full_name": "Renamed Admin"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "Renamed Admin"
