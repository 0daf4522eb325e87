"""The OKR practice in the dashboard, in a real browser: the tree loaded a level at a time with
counts and health against the pace, a check-in from the panel, the trend chart with its
expected line, a period closed by an admin, and the contributions list."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from playwright.async_api import Dialog, Page, expect

from tests.support.dashboard import linked_kpi, new_manager, publish_value, signed_in
from tests.support.objectives import make
from tests.support.system import ADMIN_PASSWORD, RunningSystem

YEAR = 2077  # this file's own: a closed period freezes every objective in it


def accept_dialogs(page: Page) -> None:
    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def test_the_tree_opens_a_level_at_a_time_and_a_check_in_lands_in_the_panel(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Check-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    company = await make(system, title="Company", level="company", department=dept)
    division = await make(
        system, title="Division", level="division", department=dept, parent_id=company["id"]
    )
    teams = [
        await make(
            system, title=f"Team {n}", level="team", department=dept, parent_id=division["id"]
        )
        for n in range(2)
    ]
    person = await make(
        system, title="Person", level="individual", department=dept, parent_id=teams[0]["id"]
    )

    async with signed_in(chromium, base_url, manager, password, live=False) as page:
        division_row = page.locator(f'.row[data-id="{division["id"]}"]')
        team_row = page.locator(f'.row[data-id="{teams[0]["id"]}"]')
        # The company and division levels start open; each row counts its children.
        await expect(division_row.locator(".toggle")).to_have_text("2")
        await expect(team_row.locator(".toggle")).to_have_text("1")
        await expect(team_row.locator(".toggle")).to_have_attribute("aria-label", "1 child")
        # A team starts closed: its people are read only when it is opened.
        await expect(page.locator(f'.row[data-id="{person["id"]}"]')).to_have_count(0)
        async with page.expect_response(f"**/tree/level?parent_id={teams[0]['id']}"):
            await team_row.locator(".toggle").click()
        await expect(page.locator(f'.row[data-id="{person["id"]}"]')).to_have_count(1)
        # Health against the pace beside the bar, and the tick where the progress should be.
        health = team_row.locator(".health")
        assert teams[0]["health"] in {"on_track", "at_risk", "off_track", "not_started"}
        await expect(health).to_have_class(re.compile(rf"\b{teams[0]['health']}\b"))
        left = await team_row.locator(".pace").evaluate("e => e.style.left")
        assert left == f"{teams[0]['expected_progress']}%"

        await team_row.locator(".title").click()
        await expect(page.locator(".panel-check-ins")).to_contain_text("no check-ins yet")
        form = page.locator('form[data-form="check-in"]')
        await form.locator("select[name=status]").select_option("at_risk")
        await form.locator("input[name=confidence]").fill("6")
        note = "Hiring is <b>slow</b>: two offers declined"
        await form.locator("textarea[name=note]").fill(note)
        await form.locator("button[type=submit]").click()

        check_in = page.locator(".panel-check-ins .check-in")
        await expect(check_in).to_have_count(1)
        await expect(check_in.locator(".note")).to_have_text(note)  # text, never markup
        await expect(check_in.locator(".health")).to_have_class(re.compile(r"\bat_risk\b"))
        await expect(check_in).to_contain_text("confidence 6/10")

    stored = await system.client.get(
        f"/api/v1/objectives/{teams[0]['id']}/check-ins", headers=system.admin_headers
    )
    [item] = stored.json()["items"]
    assert (item["status"], item["confidence"], item["note"]) == ("at_risk", 6, note)
    assert item["author_id"] == manager["id"]


async def test_the_trend_chart_draws_the_expected_line_and_follows_the_progress(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Trend-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    team = await make(
        system,
        title="Team",
        level="team",
        department=dept,
        start_date="2026-01-01",
        end_date="2026-12-31",
    )
    kpi = await linked_kpi(system, team["id"], dept)

    async with signed_in(chromium, base_url, manager, password) as page:
        await page.locator(f'.row[data-id="{team["id"]}"] .title').click()
        chart = page.locator(".panel-trend svg.trend")
        await expect(chart).to_be_visible()
        expected = await chart.locator(".trend-expected").get_attribute("points") or ""
        # From 0 % at the start to 100 % after the end: the line climbs from the chart's floor
        # to its ceiling.
        ys = [float(point.split(",")[1]) for point in expected.split()]
        assert ys[0] > ys[-1] and len(ys) == 4
        await expect(chart.locator(".trend-today")).to_have_count(1)
        await expect(chart.locator(".trend-last")).to_have_text("0 %")  # the initial point

        await publish_value(system.nats_url, kpi["id"], 50)
        await expect(page.locator(".panel-trend .trend-last")).to_have_text("50 %", timeout=10_000)
        points = await page.locator(".panel-trend svg.trend").get_attribute("data-points")
        assert int(points or 0) >= 1

        await page.click("#show-gantt")
        await expect(page.locator(".gantt-row").first).to_be_visible()
        await expect(page.locator("#gantt-rows .gantt-today")).to_have_count(1)
        await expect(page.locator("#gantt-axis .tick.today")).to_have_text("today")


async def test_an_admin_closes_a_period_and_sees_its_grades(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    admin = system.admin_headers
    team = await make(
        system, title="Graded team", level="team", year=YEAR, quarter="Q1", progress_percentage=60
    )
    me = (await system.client.get("/api/v1/auth/me", headers=admin)).json()
    try:
        async with signed_in(chromium, base_url, me, ADMIN_PASSWORD, live=False) as page:
            accept_dialogs(page)
            await page.click("#show-periods")
            row = page.locator(f'.period[data-period="{YEAR} Q1"]')
            await expect(row.locator(".period-state")).to_have_text("open")
            await row.locator(".period-close").click()

            await expect(row.locator(".period-state")).to_have_text("closed")
            await expect(row.locator(".period-graded")).to_have_text("1")
            await expect(row.locator(".period-grade.team")).to_have_text("0.60")
            await expect(row.locator(".period-reopen")).to_be_visible()

            await page.click("#show-tree")
            await page.locator(f'.row[data-id="{team["id"]}"] .title').click()
            await expect(page.locator(".panel-grade")).to_have_text(
                "grade 0.60 (its period is closed)"
            )
    finally:
        await system.client.post(f"/api/v1/periods/{YEAR}/Q1/reopen", headers=admin)


async def test_a_manager_sees_the_periods_without_the_buttons(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Per-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    await make(system, title="Team", level="team", department=dept)
    async with signed_in(chromium, base_url, manager, password, live=False) as page:
        await page.click("#show-periods")
        await expect(page.locator(".period").first).to_be_visible()
        assert await page.locator(".period-close, .period-reopen").count() == 0


async def test_the_panel_lists_what_each_kpi_contributes(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Contrib-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    team = await make(system, title="Team", level="team", department=dept)
    person = await make(
        system, title="Person", level="individual", department=dept, parent_id=team["id"]
    )
    kpis = [await linked_kpi(system, person["id"], dept) for _ in range(2)]
    await publish_value(system.nats_url, kpis[0]["id"], 80)
    await publish_value(system.nats_url, kpis[1]["id"], 40)

    async with signed_in(chromium, base_url, manager, password) as page:
        await expect(page.locator(f'.row[data-id="{team["id"]}"] .pct')).to_have_text(
            "60 %", timeout=10_000
        )
        await page.locator(f'.row[data-id="{team["id"]}"] .title').click()
        items = page.locator(".panel-contributions .contribution")
        await expect(items).to_have_count(2)
        shown = {int(await item.get_attribute("data-kpi") or 0) for item in await items.all()}
        assert shown == {kpi["id"] for kpi in kpis}
        # The largest contribution first: the KPI at 80 % gives more than the one at 40 %.
        await expect(items.first).to_have_attribute("data-kpi", str(kpis[0]["id"]))


# A made-up answer in the contributions route's shape (a KPI, an objective whose own progress
# counts, an id the caller may not see), and the answer of a gateway without the route: what
# the panel makes of each, in the page itself.
RENDER_CONTRIBUTIONS = """async () => {
  const { contributionList } = await import("/dashboard/contributions.js");
  const items = [
    { kpi_id: 7, effective_weight: 0.25, contribution: 10, path: [3, 2, 1] },
    { kpi_id: 9, effective_weight: 0.5, contribution: 30.456, path: [2, 1] },
    { kind: "manual", kpi_id: null, objective_id: 4, effective_weight: 0.25, contribution: 5, path: [2, null] },
  ];
  const shown = contributionList(items, (id) => `KPI <i>#${id}</i>`);
  const missing = contributionList(null, () => "");
  return {
    kpis: [...shown.querySelectorAll(".contribution")].map((li) => li.dataset.kpi),
    first: shown.querySelector(".contribution").textContent,
    last: [...shown.querySelectorAll(".contribution")].at(-1).textContent,
    markup: shown.querySelectorAll("i").length,
    missing: missing.textContent,
  };
}"""


async def test_the_contributions_list_renders_the_routes_shape(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    dept = f"Shape-{secrets.token_hex(2)}"
    manager, password = await new_manager(system, dept)
    await make(system, title="Team", level="team", department=dept)
    async with signed_in(chromium, base_url, manager, password, live=False) as page:
        shown = await page.evaluate(RENDER_CONTRIBUTIONS)
    assert shown["kpis"] == ["9", "7", "null"]  # the largest contribution first
    assert shown["first"] == "KPI <i>#9</i>weight 0.530.46#2 → #1"
    # An objective whose own progress counts, below one the caller may not see.
    assert shown["last"] == "own progress of #4weight 0.255#2 → (hidden)"
    assert shown["markup"] == 0  # titles are text
    assert shown["missing"] == "Contributionscontributions are not available on this server"
