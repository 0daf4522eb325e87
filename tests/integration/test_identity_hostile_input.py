"""Sign-in and password fields refuse what they cannot use with a 4xx that says why, never a
500 (found by a probe of the running system: issue 13)."""

from __future__ import annotations

import pytest

from tests.support.system import RunningSystem

LONE_SURROGATE = '"\\ud800pass-word"'  # JSON text: valid JSON, not valid Unicode


def nested(depth: int) -> bytes:
    return b'{"username": ' + b"[" * depth + b"]" * depth + b', "password": "x"}'


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_sign_in_refuses_json_nested_too_deep(system: RunningSystem, depth: int) -> None:
    response = await system.client.post(
        "/api/v1/auth/login",
        content=nested(depth),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "JSON" in response.json()["detail"]


async def test_a_password_that_is_not_unicode_text_is_refused(system: RunningSystem) -> None:
    login = await system.client.post(
        "/api/v1/auth/login",
        content=f'{{"username": "admin", "password": {LONE_SURROGATE}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert login.status_code == 422, login.text
    assert "Unicode" in login.text
    created = await system.client.post(
        "/api/v1/users",
        content=(
            f'{{"username": "surrogate-user", "password": {LONE_SURROGATE}, "role": "employee"}}'
        ).encode(),
        headers={**system.admin_headers, "content-type": "application/json"},
    )
    assert created.status_code == 422, created.text
    user, _ = await system.user()
    reset = await system.client.put(
        f"/api/v1/users/{user['id']}",
        content=f'{{"password": {LONE_SURROGATE}}}'.encode(),
        headers={**system.admin_headers, "content-type": "application/json"},
    )
    assert reset.status_code == 422, reset.text
