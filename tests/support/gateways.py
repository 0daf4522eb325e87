"""A second gateway on the test system's database and tokens, with settings of its own, and
clients that come from an address of their choosing (the sign-in throttle counts by it)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from okr_gateway.main import create_app
from okr_gateway.settings import GatewaySettings
from tests.support.system import RunningSystem, eventually


def client_at(app: FastAPI, address: str) -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app, client=(address, 40000)), base_url="http://okr.test"
    )


@contextlib.asynccontextmanager
async def extra_gateway(
    system: RunningSystem, tmp_path: Path, **settings: Any
) -> AsyncIterator[FastAPI]:
    app = create_app(
        GatewaySettings(
            **{
                "nats_url": system.nats_url,
                "database_url": system.database_url,
                "data_dir": tmp_path,
                "jwt_secret": system.app.state.gateway.tokens.secret,
                "writes_per_minute": 0,
                **settings,
            }
        )
    )
    async with LifespanManager(app), client_at(app, "127.0.0.1") as http:

        async def ready() -> bool:
            return (await http.get("/ready")).status_code == 200

        await eventually(ready, timeout_s=15)
        yield app
