"""Helpers of the dashboard's browser tests: a signed-in page, users, KPIs and values."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
from playwright.async_api import Page, async_playwright, expect

from okr_shared import subjects
from tests.support.kpis import make_kpi
from tests.support.system import RunningSystem


async def publish_value(nats_url: str, kpi_id: int, value: float) -> None:
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().publish(
            subjects.kpi_value_subject(kpi_id),
            json.dumps({"value": value, "source": "hris"}).encode(),
            headers={"Nats-Msg-Id": secrets.token_hex(8)},
        )
    finally:
        await client.close()


async def new_manager(system: RunningSystem, dept: str) -> tuple[dict[str, Any], str]:
    password = secrets.token_urlsafe(12)
    manager, _ = await system.user("manager", department=dept, password=password)
    return manager, password


async def linked_kpi(system: RunningSystem, objective_id: int, dept: str) -> dict[str, Any]:
    kpi = await make_kpi(system, title="Shops opened", department=dept, target_value=100)
    linked = await system.client.post(
        f"/api/v1/objectives/{objective_id}/kpis",
        json={"kpi_id": kpi["id"]},
        headers=system.admin_headers,
    )
    assert linked.status_code == 201, linked.text
    return kpi


@contextlib.asynccontextmanager
async def signed_in(
    chromium: Path, url: str, user: dict[str, Any], password: str, *, live: bool = True
) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(url)
            await page.fill("input[name=username]", user["username"])
            await page.fill("input[name=password]", password)
            await page.click("#login-form button[type=submit]")
            await expect(page.locator("#main")).to_be_visible()
            if live:
                await expect(page.locator("#live")).to_have_text("live")
            yield page
        finally:
            await browser.close()
