"""The dashboard stays fast at 10,000 objectives: a tree of 11,111 (fan-out 10, depth 4, written
with SQL) opened as admin in headless Chromium. The figures printed here are the ones
docs/BENCHMARKS.md records; the bounds are generous so that a loaded 2-core machine passes, and
would still catch a dashboard that builds every row or freezes on a burst of updates. And at
111,111 (depth 5) the tree, read a level at a time, opens in under 2 s.

    ./okr test --no-lint -m slow tests/slow/test_dashboard_scale.py -s
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from playwright.async_api import Page, async_playwright

from okr_shared import subjects
from okr_shared.contracts.progress import CalculationMethod, ObjectiveProgressUpdated
from tests.support.read_models import read_model
from tests.support.system import ADMIN_PASSWORD, RunningSystem
from tests.support.trees import Tree, insert_tree

BASE = 3 * 10**12  # clear of the ids the API hands out and of the bench's trees
BASE_111K = 4 * 10**12
OPEN_LEVELS = 3  # the root, its divisions and their teams are shown at first (OPEN_DEPTH = 2)
BURST = 1_000
BURST_PROGRESS = 37.0
T = TypeVar("T")

# Resolves once the browser has painted what the script just changed: a frame, then a task.
PAINTED = "new Promise((done) => requestAnimationFrame(() => setTimeout(done)))"

SIGN_IN = f"""async () => {{
  const status = document.getElementById("status");
  const loaded = new Promise((done) => new MutationObserver((_, observer) => {{
    if (/objectives in/.test(status.textContent)) {{ observer.disconnect(); done(); }}
  }}).observe(status, {{ childList: true, characterData: true, subtree: true }}));
  const started = performance.now();
  document.querySelector("#login-form button[type=submit]").click();
  await loaded;
  await {PAINTED};
  return performance.now() - started;
}}"""

# A view's request alone: what the browser waited for before parsing and building.
FETCHED = """(path) => {
  const [entry] = performance.getEntriesByType("resource").filter((e) => e.name.includes(path));
  return { ms: entry.responseEnd - entry.startTime, bytes: entry.encodedBodySize };
}"""

# Opening a row reads its children first: the time runs until they are painted.
EXPAND = f"""async (id) => {{
  const row = document.querySelector(`.row[data-id="${{id}}"]`);
  row.scrollIntoView();
  await {PAINTED};
  const children = row.parentElement.querySelector(".children");
  const started = performance.now();
  row.querySelector(".toggle").click();
  await new Promise((done) => {{
    const check = () => (children.childElementCount ? done() : requestAnimationFrame(check));
    check();
  }});
  await {PAINTED};
  return [performance.now() - started, children.querySelectorAll(":scope > li").length];
}}"""

WATCH_LONG_TASKS = """() => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  }).observe({ type: "longtask" });
}"""

# Every built row shows the burst's value: the rows were published last, so all of it arrived.
BURST_APPLIED = f"""() => [...document.querySelectorAll(".row .pct")]
  .every((pct) => pct.textContent === "{BURST_PROGRESS:g} %")"""

GANTT = f"""async (last) => {{
  const shows = (selector) => new Promise((done) => {{
    const check = () => (document.querySelector(selector) ? done() : requestAnimationFrame(check));
    check();
  }});
  let started = performance.now();
  document.getElementById("show-gantt").click();
  await shows(".gantt-row");
  await {PAINTED};
  const shown = performance.now() - started;
  const scroller = document.getElementById("gantt");
  started = performance.now();
  scroller.scrollTop = scroller.scrollHeight;
  await shows(`.gantt-row[data-id="${{last}}"]`);
  await {PAINTED};
  return [shown, performance.now() - started, document.querySelectorAll(".gantt-row").length];
}}"""

# The Gantt module alone, fed 111,111 items (the bench's large tree) in a detached element.
GANTT_111K = """async () => {
  const { Gantt } = await import("/dashboard/gantt.js");
  const [scroller, rows, axis] = ["div", "div", "div"].map((tag) => document.createElement(tag));
  const items = Array.from({ length: 111111 }, (_, id) => ({
    id, title: `Objective ${id}`, level: "individual", start: "2026-01-01", end: "2026-12-31",
    progress: 50, parent_id: null, dependencies: [],
  }));
  const started = performance.now();
  new Gantt(scroller, rows, axis).load(items);
  return performance.now() - started;
}"""


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_the_dashboard_stays_fast_at_11k_objectives(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    tree = await insert_tree(system.engine, base=BASE, depth=4)
    await read_model(system).resync()  # rows written with SQL, past the events
    figures: dict[str, float] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(base_url)
            await page.evaluate(WATCH_LONG_TASKS)
            figures |= await _sign_in(page, tree)
            figures |= await _expand(page, tree)
            figures |= await _live_burst(page, system.nats_url, tree)
            figures |= await _gantt(page, tree)
        finally:
            await browser.close()
    print("\n" + "\n".join(f"{name:<36} {value:>9,.0f}" for name, value in figures.items()))

    assert figures["sign_in_to_tree_ms"] < 15_000
    assert figures["expand_10_children_ms"] < 1_500
    assert figures["expand_bottom_ms"] < 1_500
    assert figures["burst_1000_updates_ms"] < 20_000
    assert figures["gantt_shown_ms"] < 15_000
    assert figures["gantt_scroll_to_end_ms"] < 1_500
    assert figures["gantt_rows_in_dom"] < 200  # only the rows in sight are built
    assert figures["gantt_load_111k_items_ms"] < 5_000


async def _timed(work: Awaitable[T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await work
    return result, (time.perf_counter() - started) * 1000


async def _sign_in(page: Page, tree: Tree) -> dict[str, float]:
    """From the sign-in click to the tree painted; the page's own figure covers fetching,
    parsing and building it."""
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    in_page, wall = await _timed(page.evaluate(SIGN_IN))
    status = await page.locator("#status").text_content() or ""
    count, _, page_ms = status.removesuffix(" ms").partition(" objectives in ")
    assert int(count) >= sum(10**level for level in range(OPEN_LEVELS)), status
    for shown in (tree.root, tree.root + 1, tree.root + 110):  # the root, a division, a team
        assert await page.locator(f'.row[data-id="{shown}"]').count() == 1
    roots = await page.evaluate(FETCHED, "/tree/level")  # the first: the roots
    fetched = await page.evaluate(FETCHED, f"/tree/level?parent_id={tree.root}")
    return {
        "sign_in_to_tree_ms": in_page,
        "sign_in_to_tree_wall_ms": wall,
        "tree_loaded_page_ms": float(page_ms),
        "roots_fetch_ms": roots["ms"],
        "root_children_fetch_ms": fetched["ms"],
        "root_children_kb": fetched["bytes"] / 1024,
        "tree_load_longest_task_ms": max(await page.evaluate("window.longTasks"), default=0.0),
    }


async def _expand(page: Page, tree: Tree) -> dict[str, float]:
    """A team (10 individuals), then at the bottom of the page the last team and its last
    individual (10 leaves)."""
    first_team, last_team, last_individual = tree.root + 11, tree.root + 110, tree.root + 1110
    figures: dict[str, float] = {}
    for name, node in (
        ("expand_10_children_ms", first_team),
        ("expand_last_team_ms", last_team),
        ("expand_bottom_ms", last_individual),
    ):
        (in_page, children), wall = await _timed(page.evaluate(EXPAND, node))
        assert children == 10
        figures[name], figures[name.replace("_ms", "_wall_ms")] = in_page, wall
    return figures


async def _live_burst(page: Page, nats_url: str, tree: Tree) -> dict[str, float]:
    """1,000 rollup updates published as the progress service does, through the gateway's SSE
    stream into the page, until every built row shows them; and the longest main-thread task."""
    await page.wait_for_function("document.getElementById('live').textContent === 'live'")
    built = await page.eval_on_selector_all(".row[data-id]", "rows => rows.map(r => +r.dataset.id)")
    unbuilt = [i for i in tree.ids if i not in set(built)]
    burst = unbuilt[: BURST - len(built)] + built
    await page.evaluate("window.longTasks = []")
    client = await nats.connect(nats_url)
    try:
        started = time.perf_counter()
        for version, objective_id in enumerate(burst, start=1_000_000):
            await client.publish(
                subjects.progress_subject(objective_id), _update(objective_id, version)
            )
        await client.flush()
        await page.wait_for_function(BURST_APPLIED, polling="raf", timeout=60_000)
        applied = (time.perf_counter() - started) * 1000
    finally:
        await client.close()
    long_tasks: list[float] = await page.evaluate("window.longTasks")
    return {
        "burst_1000_updates_ms": applied,
        "burst_rows_painted": len(built),
        "burst_longest_task_ms": max(long_tasks, default=0.0),
    }


def _update(objective_id: int, version: int) -> bytes:
    return (
        ObjectiveProgressUpdated(
            objective_id=objective_id,
            progress_percentage=BURST_PROGRESS,
            calculation_method=CalculationMethod.CHILDREN,
            child_count=10,
            kpi_count=0,
            last_calculated=datetime.now(UTC),
            version=version,
        )
        .model_dump_json()
        .encode()
    )


async def _gantt(page: Page, tree: Tree) -> dict[str, Any]:
    """From the Gantt tab's click to its rows painted, then a jump to the last of 11k rows."""
    (shown, scrolled, rows), wall = await _timed(page.evaluate(GANTT, tree.ids[-1]))
    return {
        "gantt_shown_ms": shown,
        "gantt_view_fetch_ms": (await page.evaluate(FETCHED, "/gantt/view"))["ms"],
        "gantt_shown_and_scrolled_wall_ms": wall,
        "gantt_scroll_to_end_ms": scrolled,
        "gantt_rows_in_dom": rows,
        "gantt_load_111k_items_ms": await page.evaluate(GANTT_111K),
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_company_of_111k_objectives_opens_in_under_2_s(
    system: RunningSystem, chromium: Path, base_url: str
) -> None:
    """From the sign-in click to the tree's first levels painted (the root, its divisions and
    their teams), at 111,111 objectives: what a person waits for before they can use it."""
    tree = await insert_tree(system.engine, base=BASE_111K, depth=5)
    await read_model(system).resync()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(base_url)
            await page.evaluate(WATCH_LONG_TASKS)
            figures = await _sign_in(page, tree)
            deepest = tree.leaves[0] - 1  # the last objective of the level above the leaves
            figures |= await _expand_path(page, [tree.root + 110, tree.root + 1110, deepest])
        finally:
            await browser.close()
    print("\n" + "\n".join(f"{name:<36} {value:>9,.0f}" for name, value in figures.items()))

    assert figures["sign_in_to_tree_ms"] < 2_000
    assert figures["expand_to_the_bottom_ms"] < 3_000


async def _expand_path(page: Page, ids: list[int]) -> dict[str, float]:
    """Opens each row in turn, down to the bottom of the tree."""
    total = 0.0
    for node in ids:
        in_page, children = await page.evaluate(EXPAND, node)
        assert children == 10
        total += in_page
    return {"expand_to_the_bottom_ms": total}
