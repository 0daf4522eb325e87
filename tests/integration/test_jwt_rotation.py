"""Rotating the JWT signing key: a gateway with a new key and the old one as previous keeps the
sessions signed with the old key and signs new ones with the new; without the old key they end."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from okr_gateway.settings import GatewaySettings
from tests.support.gateways import client_at, extra_gateway
from tests.support.system import RunningSystem


async def test_a_rotated_key_keeps_old_sessions_until_it_is_dropped(
    system: RunningSystem, tmp_path: Path
) -> None:
    old_key = system.app.state.gateway.tokens.secret
    old_token = system.admin_headers
    new_key = secrets.token_urlsafe(32)
    async with (
        extra_gateway(system, tmp_path, jwt_secret=new_key, jwt_previous_secrets=old_key) as app,
        client_at(app, "127.0.0.1") as rotated,
    ):
        assert (await rotated.get("/api/v1/auth/me", headers=old_token)).status_code == 200
        username, password = f"rotation-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        await system.user("employee", username=username, password=password)
        login = await rotated.post(
            "/api/v1/auth/login", data={"username": username, "password": password}
        )
        new_token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await rotated.get("/api/v1/auth/me", headers=new_token)).status_code == 200
    # The old gateway, which knows only the old key, refuses what the new key signed.
    assert (await system.client.get("/api/v1/auth/me", headers=new_token)).status_code == 401
    async with (
        extra_gateway(system, tmp_path / "dropped", jwt_secret=new_key) as app,
        client_at(app, "127.0.0.1") as dropped,
    ):
        refused = await dropped.get("/api/v1/auth/me", headers=old_token)
        assert refused.status_code == 401, refused.text
        assert (await dropped.get("/api/v1/auth/me", headers=new_token)).status_code == 200


def test_previous_keys_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        GatewaySettings(jwt_previous_secrets=f"{'k' * 32},short")
