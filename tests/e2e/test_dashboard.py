"""The dashboard in a real browser (Chromium and a real port: tests/support/browser.py): sign in
through the page, see the tree, publish a KPI value over NATS as an HR system does, and watch the
bar move without a reload. The screenshot stays in test-artifacts/ for a person to look at."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from pathlib import Path

import nats
from playwright.async_api import Page, expect

from okr_cli.demo.view import colour
from okr_shared import subjects
from tests.support.browser import Gateway
from tests.support.dashboard import linked_kpi, new_manager, publish_value, signed_in
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_sign_in_see_the_tree_and_watch_a_kpi_value_move_the_bars(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Dash-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    division = await make(system, title="Grow the north", level="division", department=dept)
    team = await make(
        system, title="Open <b>two</b> shops", level="team", department=dept,
        parent_id=division["id"],
    )  # fmt: skip
    kpi = await linked_kpi(system, team["id"], dept)
    me = (await system.client.get("/api/v1/auth/me", headers=system.admin_headers)).json()
    admin_name = me["full_name"] or me["username"]

    async with signed_in(chromium, base_url, manager, password, live=False) as page:
        team_row = page.locator(f'.row[data-id="{team["id"]}"]')
        # The title is shown as text, never parsed as markup.
        await expect(team_row.locator(".title")).to_have_text("Open <b>two</b> shops")
        await expect(team_row.locator(".pct")).to_have_text("0 %")
        # Owners by name, before any row is opened (the admin made these objectives).
        await expect(team_row.locator(".owner")).to_have_text(admin_name)
        await expect(page.locator("#live")).to_have_text("live")
        await _offers_what_a_manager_may_do(page, team["id"])

        await page.evaluate("window.notReloaded = true")
        await publish_value(system.nats_url, kpi["id"], 50)

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
        await _grades_as_the_demo_colours(page)


async def _offers_what_a_manager_may_do(page: Page, team_id: int) -> None:
    """A manager may edit and link their department's objectives but never move them."""
    await page.locator(f'.row[data-id="{team_id}"] .title').click()
    await expect(page.locator('form[data-form="edit"]')).to_be_visible()
    await expect(page.locator('form[data-form="link"]')).to_be_visible()
    await expect(page.locator(".record-value")).to_be_visible()
    assert await page.locator('form[data-form="move"]').count() == 0
    assert await page.locator('form[data-form="delete"]').count() == 0  # an admin created it
    await expect(page.locator("#new-objective")).to_be_visible()


async def _grades_as_the_demo_colours(page: Page) -> None:
    """Red below 40 %, amber from 40 to 70 % included, green above: the page and `okr demo`."""
    points = [0, 39.9, 40, 69.9, 70, 70.1, 100]
    graded = await page.evaluate(
        "async (points) => points.map((await import('/dashboard/grades.js')).grade)", points
    )
    demo = [{"yellow": "amber"}.get(c, c) for c in map(colour, points)]
    assert graded == demo == ["red", "red", "amber", "amber", "amber", "green", "green"]


async def test_after_a_gap_in_the_stream_the_page_reads_the_tree_again_and_keeps_its_state(
    system: RunningSystem, chromium: Path, gateway: Gateway
) -> None:
    """The stream has no replay: a rollup sent while the gateway was away reaches the page only
    because it reads the tree again when the stream is back."""
    dept = f"Gap-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    division = await make(system, title="Division", level="division", department=dept)
    team = await make(system, title="Team", level="team", department=dept, parent_id=division["id"])
    other = await make(
        system, title="Other team", level="team", department=dept, parent_id=division["id"]
    )
    person = await make(
        system, title="Person", level="individual", department=dept, parent_id=other["id"]
    )
    kpi = await linked_kpi(system, team["id"], dept)

    async with signed_in(chromium, gateway.url, manager, password) as page:
        team_row = page.locator(f'.row[data-id="{team["id"]}"]')
        await expect(team_row.locator(".pct")).to_have_text("0 %")
        await page.locator(f'.row[data-id="{other["id"]}"] .toggle').click()  # collapse it
        await expect(page.locator(f'.row[data-id="{person["id"]}"]')).to_have_count(0)
        await team_row.locator(".title").click()
        await expect(page.locator(".panel-progress")).to_have_text("0 %")
        await page.evaluate("window.notReloaded = true")

        await gateway.stop()
        await expect(page.locator("#live")).not_to_have_text("live")
        await publish_value(system.nats_url, kpi["id"], 50)
        await _until_progress(system, team["id"], 50)  # sent while the page could not hear it
        await expect(team_row.locator(".pct")).to_have_text("0 %")
        await gateway.start()

        await expect(team_row.locator(".pct")).to_have_text("50 %", timeout=20_000)
        await expect(page.locator("#live")).to_have_text("live")
        assert await page.evaluate("window.notReloaded") is True
        await expect(team_row).to_have_class(re.compile(r"\bselected\b"))
        await expect(page.locator(".panel-progress")).to_have_text("50 %")
        await expect(page.locator(f'.row[data-id="{person["id"]}"]')).to_have_count(0)


async def test_an_objective_created_in_the_page_updates_live(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    """A manager's stream passes only the objectives they could see when it opened: the page
    opens it again once it shows a new one."""
    dept = f"New-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    team = await make(system, title="Team", level="team", department=dept)

    async with signed_in(chromium, base_url, manager, password) as page:
        await page.locator(f'.row[data-id="{team["id"]}"] .title').click()
        await expect(page.locator('form[data-form="edit"]')).to_be_visible()  # the parent
        await page.click("#new-objective")
        create = page.locator('form[data-form="create"]')
        await create.locator("input[name=title]").fill("Made in the page")
        await create.locator("select[name=level]").select_option("individual")
        await create.locator("button[type=submit]").click()
        created_row = page.locator(".row", has=page.get_by_text("Made in the page", exact=True))
        await expect(created_row).to_have_count(1)
        created = int(await created_row.get_attribute("data-id") or 0)
        kpi = await linked_kpi(system, created, dept)
        await page.evaluate("window.notReloaded = true")

        for value in (50, 80):  # the second after any re-reading of the tree is over
            await publish_value(system.nats_url, kpi["id"], value)
            await expect(created_row.locator(".pct")).to_have_text(f"{value} %", timeout=10_000)
        assert await page.evaluate("window.notReloaded") is True


async def test_the_selected_kpi_lines_keep_up_with_a_steady_stream_of_values(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    """Values every 50 ms never leave a quiet moment: the KPI line must refresh all the same."""
    dept = f"Steady-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    team = await make(system, title="Team", level="team", department=dept)
    kpi = await linked_kpi(system, team["id"], dept)

    async with signed_in(chromium, base_url, manager, password) as page:
        await page.locator(f'.row[data-id="{team["id"]}"] .title').click()
        value = page.locator(f'.panel-kpis [data-kpi="{kpi["id"]}"] .kpi-value')
        await expect(value).to_have_text("no value yet")
        publishing = asyncio.create_task(_publish_steadily(system.nats_url, kpi["id"], 200))
        try:
            await expect(value).not_to_have_text("no value yet", timeout=5_000)
            assert not publishing.done(), "the line refreshed only once the values stopped"
        finally:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing


async def test_an_account_without_objectives_sees_why_and_can_sign_out(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    """An HR system's account may read KPIs but no objectives: the page says so instead of
    showing nothing, and it offers every KPI for linking, past the first page too."""
    password = secrets.token_urlsafe(12)
    hr, headers = await system.user("integration", password=password)
    for n in range(3):
        await make_kpi(system, title=f"Headcount {n}")
    total = (await system.client.get("/api/v1/kpis?limit=1", headers=headers)).json()["total"]
    errors: list[str] = []

    async with signed_in(chromium, base_url, hr, password, live=False) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        status = page.locator("#status")
        await expect(status).to_have_text("the integration role has no access to objectives")
        await expect(status).to_have_class(re.compile(r"\berror\b"))
        await expect(page.locator("#new-objective")).to_be_hidden()

        page_size = -(-total // 3)  # three pages at least
        ids = await page.evaluate(
            "async (size) => (await import('/dashboard/kpis.js')).allKpis(size)"
            ".then((kpis) => kpis.map((kpi) => kpi.id))",
            page_size,
        )
        assert len(ids) == len(set(ids)) == total

        await page.click("#logout")
        await expect(page.locator("#login-form")).to_be_visible()
    assert errors == []
    # Signing out ended the user's tokens on the server, not only in the tab.
    assert (await system.client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def _until_progress(system: RunningSystem, objective_id: int, progress: float) -> None:
    async def reached() -> bool:
        answer = await system.client.get(
            f"/api/v1/objectives/{objective_id}", headers=system.admin_headers
        )
        return bool(answer.json()["progress_percentage"] == progress)

    await eventually(reached, timeout_s=10)


async def _publish_steadily(nats_url: str, kpi_id: int, count: int) -> None:
    client = await nats.connect(nats_url)
    try:
        for value in range(1, count + 1):
            await client.jetstream().publish(
                subjects.kpi_value_subject(kpi_id),
                json.dumps({"value": value % 100, "source": "hris"}).encode(),
                headers={"Nats-Msg-Id": secrets.token_hex(8)},
            )
            await asyncio.sleep(0.05)
    finally:
        await client.close()
