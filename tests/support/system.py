"""The system in the test's own event loop: the three FastStream services and the gateway app,
on the real servers, with an HTTP client that speaks to the gateway through ASGI."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_gateway.main import create_app
from okr_gateway.settings import GatewaySettings
from okr_kpis.main import build as build_kpis
from okr_kpis.settings import KpisSettings
from okr_objectives.main import build as build_objectives
from okr_objectives.settings import ObjectivesSettings
from okr_progress.main import build as build_progress
from okr_progress.settings import ProgressSettings
from okr_shared.db import make_engine
from okr_shared.runtime import ServiceRuntime
from okr_webhooks.main import build as build_webhooks
from okr_webhooks.settings import WebhooksSettings

ADMIN_PASSWORD = "admin-password-for-tests"
T = TypeVar("T")


@dataclass
class RunningSystem:
    app: FastAPI
    client: httpx.AsyncClient
    nats_url: str
    database_url: str
    engine: AsyncEngine  # for tests that look behind the API at what a service stored
    runtimes: dict[str, ServiceRuntime]
    admin_headers: dict[str, str] = field(default_factory=dict)
    # Whose password goes with which headers: making an API key asks for it again.
    passwords: dict[str, str] = field(default_factory=dict)

    async def login(self, username: str, password: str) -> dict[str, str]:
        response = await self.client.post(
            "/api/v1/auth/login", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self.passwords[headers["Authorization"]] = password
        return headers

    async def post_api_key(self, headers: dict[str, str], **body: Any) -> httpx.Response:
        """POST /api/v1/api-keys as the user of these headers, with their password."""
        password = self.passwords.get(headers["Authorization"], ADMIN_PASSWORD)
        return await self.client.post(
            "/api/v1/api-keys", json={"current_password": password, **body}, headers=headers
        )

    async def user(
        self, role: str = "employee", department: str | None = "Sales", **fields: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A new user of that role, and the headers to act as them."""
        username = fields.pop("username", f"{role}-{secrets.token_hex(4)}")
        password = fields.pop("password", secrets.token_urlsafe(12))
        body = {
            "username": username,
            "password": password,
            "role": role,
            "department": department,
            **fields,
        }
        response = await self.client.post("/api/v1/users", json=body, headers=self.admin_headers)
        assert response.status_code == 201, response.text
        return response.json(), await self.login(username, password)

    async def settled(self, timeout_s: float) -> None:
        """Until every service has caught up: no consumer behind, no outbox unsent. A test
        that makes thousands of events waits for them here, or the tests after it would wait
        behind them (on a slow machine, past their own time limits)."""

        async def caught_up() -> bool:
            for runtime in self.runtimes.values():
                status = await runtime.status()
                if status.outbox_backlog or any(
                    lag.pending or lag.unacknowledged for lag in status.consumers
                ):
                    return False
            return True

        await eventually(caught_up, timeout_s=timeout_s)


async def eventually(check: Callable[[], Awaitable[T | None]], timeout_s: float = 5.0) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout_s} s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_system(
    nats_url: str,
    database_url: str,
    data_dir: Path,
    service_urls: Mapping[str, str] | None = None,
    gateway: Mapping[str, Any] | None = None,
) -> AsyncIterator[RunningSystem]:
    """`database_url` is the owner's; each service connects with its own in `service_urls`.
    `gateway` adds settings of the gateway's (its NATS auth callout, say)."""

    def common(service: str) -> dict[str, Any]:
        url = (service_urls or {}).get(service, database_url)
        return {"nats_url": nats_url, "database_url": url, "db_pool_size": 5}

    runtimes = {
        "objectives": build_objectives(
            ObjectivesSettings(**common("objectives"), instance="objectives-test")
        ),
        "kpis": build_kpis(KpisSettings(**common("kpis"), instance="kpis-test")),
        "progress": build_progress(
            ProgressSettings(**common("progress"), instance="progress-test")
        ),
        # Receivers in tests listen on loopback; retries come fast, and each attempt is short.
        "webhooks": build_webhooks(
            WebhooksSettings(
                **common("webhooks"),
                instance="webhooks-test",
                allow_private=True,
                retry_base_s=0.2,
                retry_max_s=1.0,
                give_up_after_s=4.0,  # a day, in tests/integration/test_webhooks.py
                timeout_s=2.0,
            )
        ),
    }
    gateway_settings = GatewaySettings(
        **common("gateway"),
        data_dir=data_dir,
        jwt_secret=secrets.token_urlsafe(40),
        admin_username="admin",
        admin_password=ADMIN_PASSWORD,
        instance="gateway-test",
        writes_per_minute=0,  # the tests write far faster than a person; one test checks the limit
        stream_recheck_s=1,  # a live stream notices a deactivated user within a second
        **(gateway or {}),
    )
    app = create_app(gateway_settings)
    engine = make_engine(database_url, pool_size=2, application_name="tests")
    for runtime in runtimes.values():
        await runtime.start()
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://okr.test"
            ) as client,
        ):
            system = RunningSystem(app, client, nats_url, database_url, engine, runtimes)

            async def ready() -> bool:
                return (await client.get("/ready")).status_code == 200

            await eventually(ready, timeout_s=15)
            system.admin_headers = await eventually(_admin_login(system), timeout_s=15)
            yield system
    finally:
        for runtime in runtimes.values():
            await runtime.stop()
        await engine.dispose()


def _admin_login(system: RunningSystem) -> Callable[[], Awaitable[dict[str, str] | None]]:
    async def attempt() -> dict[str, str] | None:
        response = await system.client.post(
            "/api/v1/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        if response.status_code != 200:
            return None
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return attempt
