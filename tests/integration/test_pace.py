"""Pace through the public API: `expected_progress` and `health` on every read, computed from
today's date; `?health=` (selected in SQL by the objectives service) agrees with the health
each objective shows (computed in Python), and the stats count by it."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta
from typing import Any

from tests.support.objectives import make
from tests.support.system import RunningSystem

YEAR = 2087  # this file's own: its lists hold nothing else
HEALTHS = ("not_started", "on_track", "at_risk", "off_track", "completed", "abandoned")


async def paced(system: RunningSystem, start: date, days: int, **body: Any) -> dict[str, Any]:
    return await make(
        system,
        title=f"Paced {secrets.token_hex(2)}",
        level="company",
        year=YEAR,
        start_date=start.isoformat(),
        end_date=(start + timedelta(days=days - 1)).isoformat(),
        **body,
    )


async def test_health_follows_the_pace_with_the_default_thresholds(system: RunningSystem) -> None:
    """A 100-day period, 50 days in: 50 % expected. On track down to 10 points behind, at risk
    down to 25, off track below; before its start not started; the status decides the rest."""
    today = date.today()
    half = today - timedelta(days=50)
    cases = [
        ({"progress_percentage": 60}, 50.0, "on_track"),
        ({"progress_percentage": 40}, 50.0, "on_track"),  # exactly 10 behind
        ({"progress_percentage": 39.9}, 50.0, "at_risk"),
        ({"progress_percentage": 25}, 50.0, "at_risk"),  # exactly 25 behind
        ({"progress_percentage": 24.9}, 50.0, "off_track"),
        ({"progress_percentage": 0, "status": "completed"}, 50.0, "completed"),
        ({"progress_percentage": 0, "status": "abandoned"}, 50.0, "abandoned"),
        ({"progress_percentage": 0, "status": "on_hold"}, 50.0, "off_track"),
    ]
    for body, expected, health in cases:
        objective = await paced(system, half, 100, **body)
        for shown in (
            objective,  # the create's answer
            (
                await system.client.get(
                    f"/api/v1/objectives/{objective['id']}", headers=system.admin_headers
                )
            ).json(),  # the gateway's read model
        ):
            assert (shown["expected_progress"], shown["health"]) == (expected, health), body
    ahead = await paced(system, today + timedelta(days=1), 30)
    assert (ahead["expected_progress"], ahead["health"]) == (0.0, "not_started")
    first_day = await paced(system, today, 30)
    assert (first_day["expected_progress"], first_day["health"]) == (0.0, "on_track")
    over = await paced(system, today - timedelta(days=30), 30, progress_percentage=95)
    assert (over["expected_progress"], over["health"]) == (100.0, "on_track")
    # 1 day of 3 elapsed: 33.3 (rounded down to one decimal), in Python and SQL alike.
    third = await paced(system, today - timedelta(days=1), 3, progress_percentage=23.3)
    assert (third["expected_progress"], third["health"]) == (33.3, "on_track")


async def test_the_health_filter_and_the_stats_agree_with_each_objectives_health(
    system: RunningSystem,
) -> None:
    rng = random.Random(secrets.randbits(32))
    today = date.today()
    made = []
    for _ in range(40):
        start = today + timedelta(days=rng.randint(-400, 20))
        made.append(
            await paced(
                system,
                start,
                rng.randint(1, 400),
                progress_percentage=rng.choice([0, 3.3, 10, 33.3, 50, 66.6, 90, 100]),
                status=rng.choice(["active", "active", "active", "on_hold", "completed"]),
            )
        )
    shown = {o["id"]: o["health"] for o in made}
    assert len(set(shown.values())) >= 3, "the random world should cover several healths"
    headers = system.admin_headers
    for health in HEALTHS:
        listed = await system.client.get(
            "/api/v1/objectives",
            params={"year": YEAR, "health": health, "limit": 500},
            headers=headers,
        )
        assert listed.status_code == 200, listed.text
        ids = {o["id"] for o in listed.json()["items"] if o["id"] in shown}
        assert ids == {i for i, h in shown.items() if h == health}, health
        assert all(o["health"] == health for o in listed.json()["items"])
    stats = await system.client.get(
        "/api/v1/objectives/stats/summary", params={"year": YEAR}, headers=headers
    )
    everything = await system.client.get(
        "/api/v1/objectives", params={"year": YEAR, "limit": 500}, headers=headers
    )
    counted = {h: 0 for h in HEALTHS}
    for objective in everything.json()["items"]:
        counted[objective["health"]] += 1
    assert stats.json()["by_health"] == counted
    refused = await system.client.get(
        "/api/v1/objectives", params={"health": "sideways"}, headers=headers
    )
    assert refused.status_code == 422 and "health" in refused.text
