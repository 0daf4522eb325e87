"""Integrations as an admin makes them and as their owners connect: through the public
interfaces only."""

from __future__ import annotations

import secrets
from typing import Any

import nats
from nats.aio.client import Client

from tests.support.system import RunningSystem

Json = dict[str, Any]


async def create(system: RunningSystem, name: str | None = None) -> Json:
    body = {"name": name or f"hris-{secrets.token_hex(3)}"}
    response = await system.client.post(
        "/api/v1/integrations", json=body, headers=system.admin_headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def page(system: RunningSystem, integration_id: int) -> Json:
    response = await system.client.get(
        f"/api/v1/integrations/{integration_id}", headers=system.admin_headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def connect_as(created: Json, errors: list[str] | None = None, **options: Any) -> Client:
    """As its owner would: the URL as given, replies under its inbox prefix."""

    async def note(err: Exception) -> None:
        if errors is not None:
            errors.append(str(err).lower())

    return await nats.connect(
        created["nats_url"], inbox_prefix=created["inbox_prefix"], error_cb=note, **options
    )
