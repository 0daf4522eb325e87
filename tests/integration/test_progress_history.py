"""Progress history through the public API: every rollup change is a point of its objective's
history, `GET /api/v1/objectives/{id}/progress/history` answers the last point of each bucket
with the pace's expected progress, and compaction keeps exactly the points it should."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from okr_progress.history import compact, tiers
from okr_progress.settings import ProgressSettings
from okr_shared import subjects
from okr_shared.contracts.common import utcnow
from okr_shared.pace import expected_progress
from tests.support.kpis import make_kpi
from tests.support.objectives import make, tree
from tests.support.system import RunningSystem, eventually

Point = tuple[int, datetime, int, float]  # objective_id, at, version, progress


def history_url(objective_id: int) -> str:
    return f"/api/v1/objectives/{objective_id}/progress/history"


async def history(
    system: RunningSystem, objective_id: int, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    response = await system.client.get(
        history_url(objective_id), params=params, headers=headers or system.admin_headers
    )
    assert response.status_code == 200, response.text
    points: list[dict[str, Any]] = response.json()["points"]
    return points


async def stored_points(system: RunningSystem, ids: list[int]) -> list[Point]:
    async with system.engine.connect() as db:
        rows = await db.execute(
            text(
                "SELECT objective_id, at, version, progress FROM progress.history "
                "WHERE objective_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return [(r.objective_id, r.at, r.version, r.progress) for r in rows]


async def insert_points(system: RunningSystem, points: list[Point]) -> None:
    async with system.engine.begin() as db:
        await db.execute(
            text(
                "INSERT INTO progress.history (objective_id, at, version, progress) "
                "VALUES (:objective_id, :at, :version, :progress)"
            ),
            [{"objective_id": o, "at": at, "version": v, "progress": p} for o, at, v, p in points],
        )


def truncate(at: datetime, bucket: str) -> datetime:
    at = at.astimezone(UTC)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def last_points(points: list[Point], bucket: str) -> list[Point]:
    """The oracle: the last point (by time, then version) of each bucket, oldest first."""
    last: dict[datetime, Point] = {}
    for point in sorted(points, key=lambda p: (p[1], p[2])):
        last[truncate(point[1], bucket)] = point
    return [p for _, p in sorted(last.items())]


def last_per_bucket(points: list[Point], bucket: str) -> list[tuple[datetime, float]]:
    return [(p[1], p[3]) for p in last_points(points, bucket)]


def parsed(points: list[dict[str, Any]]) -> list[tuple[datetime, float]]:
    return [(datetime.fromisoformat(p["at"]), p["progress"]) for p in points]


async def test_a_new_objective_has_its_first_point(system: RunningSystem) -> None:
    objective = await make(system, title="Anchor", level="company")

    async def anchored() -> list[dict[str, Any]]:
        return await history(system, objective["id"])

    points = await eventually(anchored, timeout_s=10)
    assert [p["progress"] for p in points] == [0.0]


async def test_kpi_values_record_points_up_the_tree(system: RunningSystem, hr: Any) -> None:
    company, division, team, person = await tree(system)
    ids = [o["id"] for o in (person, team, division, company)]
    kpi = await make_kpi(system, target_value=100)
    linked = await system.client.post(
        f"/api/v1/objectives/{person['id']}/kpis",
        json={"kpi_id": kpi["id"]},
        headers=system.admin_headers,
    )
    assert linked.status_code == 201, linked.text
    for amount in (10, 60):
        await hr.publish(
            subjects.kpi_value_subject(kpi["id"]), json.dumps({"value": amount}).encode()
        )

    async def reached() -> bool:
        points = await history(system, company["id"], bucket="hour")
        return bool(points) and points[-1]["progress"] == 60.0

    await eventually(reached, timeout_s=10)
    stored = await stored_points(system, ids)
    since = (utcnow() - timedelta(days=2)).isoformat()
    for objective in (person, team, division, company):
        mine = [p for p in stored if p[0] == objective["id"]]
        # Its first point (0 at creation) and the change to 60; 10 may be folded into 60 when
        # one batch carried both values.
        assert {p[3] for p in mine} >= {0.0, 60.0}, mine
        for bucket in ("hour", "day", "week"):
            answered = await history(system, objective["id"], bucket=bucket, **{"from": since})
            assert parsed(answered) == last_per_bucket(mine, bucket), bucket
            assert answered[-1]["progress"] == 60.0
            start, end = (
                date.fromisoformat(objective["start_date"]),
                date.fromisoformat(objective["end_date"]),
            )
            for point in answered:
                on = datetime.fromisoformat(point["at"]).astimezone(UTC).date()
                assert point["expected_progress"] == expected_progress(start, end, on)


async def test_buckets_keep_the_last_point_of_each_oldest_first(system: RunningSystem) -> None:
    today = utcnow().date()
    objective = await make(
        system,
        title="Charted",
        level="company",
        start_date=(today - timedelta(days=60)).isoformat(),
        end_date=(today + timedelta(days=30)).isoformat(),
    )
    oid = objective["id"]
    await eventually(lambda: history(system, oid), timeout_s=10)  # the creation's point
    rng = random.Random(7)
    now = utcnow()
    made: list[Point] = [
        (oid, now - timedelta(minutes=rng.randrange(1, 50 * 24 * 60)), 1000 + n, rng.random() * 100)
        for n in range(300)
    ]
    made.append((oid, made[0][1], made[0][2] + 1000, 42.0))  # two points at one time
    await insert_points(system, made)
    stored = await stored_points(system, [oid])
    since = now - timedelta(days=55)
    for bucket in ("hour", "day", "week"):
        answered = await history(system, oid, bucket=bucket, **{"from": since.isoformat()})
        wanted = last_per_bucket([p for p in stored if since <= p[1] <= utcnow()], bucket)
        assert parsed(answered) == wanted, bucket
        start, end = today - timedelta(days=60), today + timedelta(days=30)
        assert [p["expected_progress"] for p in answered] == [
            expected_progress(start, end, at.astimezone(UTC).date()) for at, _ in wanted
        ]
    # `to` bounds it too, and a time without a zone is UTC.
    until = (now - timedelta(days=10)).replace(tzinfo=None)
    answered = await history(system, oid, bucket="day", to=until.isoformat(), **{"from": since})
    assert parsed(answered) == last_per_bucket(
        [p for p in stored if since <= p[1] <= until.replace(tzinfo=UTC)], "day"
    )


async def test_an_objective_out_of_view_is_not_found(system: RunningSystem) -> None:
    hidden = await make(system, title="Not yours", level="company")
    _, employee = await system.user("employee")
    seen = await system.client.get(history_url(hidden["id"]), headers=employee)
    as_detail = await system.client.get(f"/api/v1/objectives/{hidden['id']}", headers=employee)
    assert (seen.status_code, seen.json()) == (404, as_detail.json())
    missing = await system.client.get(history_url(10**12), headers=system.admin_headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"objective {10**12} not found"


async def test_bad_ranges_say_what_to_fix(system: RunningSystem) -> None:
    oid = (await make(system, title="Ranges", level="company"))["id"]
    admin = system.admin_headers

    async def refused(**params: Any) -> str:
        response = await system.client.get(history_url(oid), params=params, headers=admin)
        assert response.status_code == 422, response.text
        detail: str = response.json()["detail"]
        return detail

    backwards = await refused(**{"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"})
    assert "from must not be after to" in backwards
    too_long = await refused(bucket="hour", **{"from": "2025-01-01", "to": "2026-01-01"})
    assert "at most 100 days by hour" in too_long and "wider bucket" in too_long
    assert "day" in await refused(bucket="minute")
    assert await refused(**{"from": "yesterday"})


async def test_compaction_keeps_exactly_the_right_points(system: RunningSystem) -> None:
    settings = ProgressSettings(nats_url=system.nats_url, database_url=system.database_url)
    every_change = timedelta(seconds=settings.history_every_change_s)
    hourly = timedelta(seconds=settings.history_hourly_s)
    now = utcnow()
    rng = random.Random(15)
    ids = [10**12 + rng.randrange(10**9) for _ in range(3)]
    made: list[Point] = []
    for oid in ids:
        # Spread over 120 days, denser near the tiers' edges, with ties on the same instant.
        ages = [timedelta(minutes=rng.randrange(0, 120 * 24 * 60)) for _ in range(400)]
        for edge in (every_change, hourly):
            ages += [edge + timedelta(minutes=rng.randrange(-120, 120)) for _ in range(60)]
        for n, age in enumerate(ages):
            made.append((oid, now - age, n + 1, rng.random() * 100))
        made.append((oid, made[-1][1], len(ages) + 1, 50.0))
    await insert_points(system, made)

    def kept(point: Point) -> bool:
        age = now - point[1]  # a tier takes points strictly older than its age
        if age <= every_change:
            return True
        same_objective = [p for p in made if p[0] == point[0]]
        return point in last_points(same_objective, "hour" if age <= hourly else "day")

    # The points were made old after the cursors passed their times: start from the first.
    async with system.engine.begin() as db:
        await db.execute(text("DELETE FROM progress.history_compaction"))
    sessions = system.runtimes["progress"].sessions
    deleted = await compact(sessions, tiers(settings), now, batch=97)

    wanted = sorted(p for p in made if kept(p))
    assert sorted(await stored_points(system, ids)) == wanted
    # Other tests' old points (made with SQL as these are) count too.
    assert sum(deleted.values()) >= len(made) - len(wanted)
    assert deleted["hour"] and deleted["day"]
    # Again, from two replicas at once: nothing more goes.
    async with system.engine.begin() as db:
        await db.execute(text("DELETE FROM progress.history_compaction"))
    again = await asyncio.gather(
        *(compact(sessions, tiers(settings), now, batch=50) for _ in range(2))
    )
    assert again == [{"hour": 0, "day": 0}] * 2
    assert sorted(await stored_points(system, ids)) == wanted
