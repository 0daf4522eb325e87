"""A password change, a reset, a deactivation and a sign-out end the tokens issued before them
(issue 13, a probe defect: after an admin reset a user's password, the old token kept working
until it expired, and there was no sign-out)."""

from __future__ import annotations

import secrets

from tests.support.system import RunningSystem

ME = "/api/v1/auth/me"


async def signed_in_twice(
    system: RunningSystem,
) -> tuple[dict[str, str], str, list[dict[str, str]]]:
    password = secrets.token_urlsafe(12)
    user, first = await system.user("employee", password=password)
    second = await system.login(user["username"], password)
    return user, password, [first, second]


async def works(system: RunningSystem, headers: dict[str, str]) -> bool:
    response = await system.client.get(ME, headers=headers)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def test_an_admin_reset_ends_the_users_tokens(system: RunningSystem) -> None:
    user, _, tokens = await signed_in_twice(system)
    reset = await system.client.put(
        f"/api/v1/users/{user['id']}",
        json={"password": "a-brand-new-password"},
        headers=system.admin_headers,
    )
    assert reset.status_code == 200, reset.text
    assert [await works(system, t) for t in tokens] == [False, False]
    again = await system.login(user["username"], "a-brand-new-password")
    assert await works(system, again)


async def test_other_changes_to_a_user_keep_their_tokens(system: RunningSystem) -> None:
    user, _, tokens = await signed_in_twice(system)
    renamed = await system.client.put(
        f"/api/v1/users/{user['id']}", json={"full_name": "Renamed"}, headers=system.admin_headers
    )
    assert renamed.status_code == 200
    assert [await works(system, t) for t in tokens] == [True, True]


async def test_signing_out_ends_every_token_of_the_caller(system: RunningSystem) -> None:
    user, password, tokens = await signed_in_twice(system)
    _, bystander = await system.user("employee")
    out = await system.client.post("/api/v1/auth/logout", headers=tokens[0])
    assert out.status_code == 204, out.text
    assert [await works(system, t) for t in tokens] == [False, False]
    assert await works(system, bystander)
    assert await works(system, await system.login(user["username"], password))
    again = await system.client.post("/api/v1/auth/logout", headers=tokens[0])
    assert again.status_code == 401


async def test_changing_ones_own_password_ends_the_other_tokens(system: RunningSystem) -> None:
    user, password, tokens = await signed_in_twice(system)
    wrong = await system.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-my-password", "new_password": "my-new-password-1"},
        headers=tokens[0],
    )
    assert wrong.status_code == 403, wrong.text
    assert [await works(system, t) for t in tokens] == [True, True]
    changed = await system.client.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": "my-new-password-1"},
        headers=tokens[0],
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert [await works(system, t) for t in tokens] == [False, False]
    assert await works(system, fresh)  # the one who changed it stays signed in
    assert await works(system, await system.login(user["username"], "my-new-password-1"))


async def test_a_reactivated_user_does_not_get_old_tokens_back(system: RunningSystem) -> None:
    user, _, tokens = await signed_in_twice(system)
    url = f"/api/v1/users/{user['id']}"
    assert (await system.client.delete(url, headers=system.admin_headers)).status_code == 204
    back = await system.client.put(url, json={"is_active": True}, headers=system.admin_headers)
    assert back.status_code == 200
    assert [await works(system, t) for t in tokens] == [False, False]
