"""The OKR practice in the demo, so that a newcomer sees it: the division heads check in on
their objectives, and last year's goals are reviewed and graded by closing that year.

All through the public API with the demo's admin key, like the rest of the build. Last year's
review happens once per system: a second demo finds the year closed and says so (a closed
year takes no new objectives)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from okr_cli.demo.build import Builder, BuildFailed, Built
from okr_shared.contracts.objectives import ObjectiveLevel

CHECK_IN_NOTES = {
    "on_track": "On plan: the numbers move as the plan said they would.",
    "at_risk": "Behind: two hires slipped to next month; catching up in the next sprint.",
    "off_track": "Well behind: a launch moved; we are re-planning the rest of the year.",
}
# Last year's divisions' progress at the review: what their grades come from.
LAST_YEAR_PROGRESS = (82.0, 64.0, 71.0, 90.0, 48.0, 77.0, 69.0, 85.0)
ROLLUP_WAIT_S = 30.0


@dataclass(frozen=True)
class Review:
    year: int
    graded: int  # 0: the year was closed already
    average_grade: dict[str, float | None]


async def check_in(builder: Builder, built: Built, seed: int = 0) -> int:
    """A check-in on every division's objective (how it goes, how sure, a note)."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    made = 0
    for goal in built.company.of_level(ObjectiveLevel.DIVISION):
        status = rng.choices(list(CHECK_IN_NOTES), weights=(6, 3, 1))[0]
        await builder.post(
            f"/api/v1/objectives/{built.objectives[goal.key]}/check-ins",
            {"status": status, "confidence": rng.randint(4, 9), "note": CHECK_IN_NOTES[status]},
        )
        made += 1
    return made


async def review_last_year(builder: Builder, built: Built, year: int) -> Review:
    """Last year's company and division goals, their final progress, then the year closed:
    each is graded progress / 100."""
    previous = year - 1
    http = builder.http
    if await _closed(http, previous):
        return Review(previous, 0, {})
    company = built.company
    rows: list[dict[str, Any]] = [
        {"key": "top", "title": f"{company.name}: grow in {previous}", "level": "company",
         "year": previous, "owner": company.goals[0].owner},
    ]  # fmt: skip
    divisions = company.of_level(ObjectiveLevel.DIVISION)
    for n, goal in enumerate(divisions):
        rows.append(
            {"key": f"d{n}", "title": f"{goal.department}: {previous} plan", "level": "division",
             "year": previous, "parent": "top", "owner": goal.owner,
             "department": goal.department}
        )  # fmt: skip
    report = await builder.post("/api/v1/objectives/import", rows)
    ids = {c["key"]: int(c["id"]) for c in report["created"]}
    finals = [LAST_YEAR_PROGRESS[n % len(LAST_YEAR_PROGRESS)] for n in range(len(divisions))]
    for n, progress in enumerate(finals):
        path = f"/api/v1/objectives/{ids[f'd{n}']}"
        await builder.send("PUT", path, {"progress_percentage": progress}, 200)
    # The company's grade is its progress when the year closes: wait for the rollup first.
    await _until_progress(http, ids["top"], sum(finals) / len(finals))
    closed = await builder.post(f"/api/v1/periods/{previous}/close", None, expect=200)
    return Review(previous, int(closed["graded"]), dict(closed["average_grade"]))


async def _closed(http: httpx.AsyncClient, year: int) -> bool:
    response = await http.get("/api/v1/periods")
    if response.status_code != 200:
        raise BuildFailed(f"GET /api/v1/periods answered {response.status_code}")
    return any(
        p["year"] == year and p["quarter"] is None and p["state"] == "closed"
        for p in response.json()
    )


async def _until_progress(http: httpx.AsyncClient, objective_id: int, wanted: float) -> None:
    deadline = time.monotonic() + ROLLUP_WAIT_S
    while time.monotonic() < deadline:
        response = await http.get(f"/api/v1/objectives/{objective_id}")
        if (
            response.status_code == 200
            and abs(response.json()["progress_percentage"] - wanted) < 1e-9
        ):
            return
        await asyncio.sleep(0.1)
    raise BuildFailed(
        f"last year's company objective did not reach {wanted:.1f} % within {ROLLUP_WAIT_S:.0f} s"
        "; see `./okr status`"
    )
