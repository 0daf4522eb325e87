"""The dashboard in a real browser (Chromium and a real port: tests/support/browser.py): sign in
through the page, see the tree, publish a KPI value over NATS as an HR system does, and watch the
bar move without a reload. The screenshot stays in test-artifacts/ for a person to look at."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import nats
from playwright.async_api import Page, async_playwright, expect

from okr_shared import subjects
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_sign_in_see_the_tree_and_watch_a_kpi_value_move_the_bars(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Dash-{secrets.token_hex(2)}"
    password = secrets.token_urlsafe(12)
    manager, _ = await system.user("manager", department=dept, password=password)
    division = await make(system, title="Grow the north", level="division", department=dept)
    team = await make(
        system, title="Open <b>two</b> shops", level="team", department=dept,
        parent_id=division["id"],
    )  # fmt: skip
    kpi = await make_kpi(system, title="Shops opened", department=dept, target_value=100)
    linked = await system.client.post(
        f"/api/v1/objectives/{team['id']}/kpis",
        json={"kpi_id": kpi["id"]},
        headers=system.admin_headers,
    )
    assert linked.status_code == 201, linked.text

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(base_url)
            await page.fill("input[name=username]", manager["username"])
            await page.fill("input[name=password]", password)
            await page.click("#login-form button[type=submit]")

            team_row = page.locator(f'.row[data-id="{team["id"]}"]')
            # The title is shown as text, never parsed as markup.
            await expect(team_row.locator(".title")).to_have_text("Open <b>two</b> shops")
            await expect(team_row.locator(".pct")).to_have_text("0 %")
            await expect(page.locator("#live")).to_have_text("live")
            await _offers_what_a_manager_may_do(page, team["id"])

            await page.evaluate("window.notReloaded = true")
            await _publish_value(system.nats_url, kpi["id"], 50)

            await expect(team_row.locator(".pct")).to_have_text("50 %", timeout=10_000)
            division_row = page.locator(f'.row[data-id="{division["id"]}"]')
            await expect(division_row.locator(".pct")).to_have_text("50 %")
            await expect(team_row.locator(".fill")).to_have_class("fill amber")
            assert await page.evaluate("window.notReloaded") is True
            width = await team_row.locator(".fill").evaluate("e => e.style.width")
            assert width == "50%"
            # The selected objective's KPI line catches up with the new value too.
            kpi_line = team_row.locator("xpath=..").locator(f'.kpis [data-kpi="{kpi["id"]}"]')
            await expect(kpi_line.locator(".kpi-value")).to_have_text("50")

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000

            await page.click("#show-gantt")
            gantt_row = page.locator(f'.gantt-row[data-id="{team["id"]}"]')
            await expect(gantt_row.locator(".gantt-bar")).to_have_class("gantt-bar amber")
            await expect(gantt_row.locator(".gantt-pct")).to_have_text("50 %")
        finally:
            await browser.close()


async def _offers_what_a_manager_may_do(page: Page, team_id: int) -> None:
    """A manager may edit and link their department's objectives but never move them."""
    await page.locator(f'.row[data-id="{team_id}"] .title').click()
    await expect(page.locator('form[data-form="edit"]')).to_be_visible()
    await expect(page.locator('form[data-form="link"]')).to_be_visible()
    await expect(page.locator(".record-value")).to_be_visible()
    assert await page.locator('form[data-form="move"]').count() == 0
    assert await page.locator('form[data-form="delete"]').count() == 0  # an admin created it
    await expect(page.locator("#new-objective")).to_be_visible()


async def _publish_value(nats_url: str, kpi_id: int, value: float) -> None:
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().publish(
            subjects.kpi_value_subject(kpi_id),
            json.dumps({"value": value, "source": "hris"}).encode(),
            headers={"Nats-Msg-Id": secrets.token_hex(8)},
        )
    finally:
        await client.close()
