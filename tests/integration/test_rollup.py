"""Rollup through the whole system: every kind of change moves the old and the new ancestors,
and every objective read shows the result."""

from __future__ import annotations

import json
from typing import Any

import nats
import pytest
from sqlalchemy import text

from okr_shared import subjects
from okr_shared.contracts.endpoint import REFUSED
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually


async def progress_of(system: RunningSystem, objective_id: int) -> float:
    response = await system.client.get(
        f"/api/v1/objectives/{objective_id}", headers=system.admin_headers
    )
    return float(response.json()["progress_percentage"])


async def expect(system: RunningSystem, wanted: dict[int, float]) -> None:
    async def all_there() -> bool:
        for objective_id, value in wanted.items():
            if abs(await progress_of(system, objective_id) - value) > 1e-9:
                return False
        return True

    try:
        await eventually(all_there, timeout_s=10)
    except AssertionError:
        seen = {o: await progress_of(system, o) for o in wanted}
        raise AssertionError(f"wanted {wanted}, saw {seen}") from None


async def value(system: RunningSystem, hr: Any, kpi_id: int, amount: float) -> None:
    await hr.publish(subjects.kpi_value_subject(kpi_id), json.dumps({"value": amount}).encode())


async def test_every_change_moves_old_and_new_ancestors(system: RunningSystem, hr: Any) -> None:
    admin = system.admin_headers
    company = await make(system, title="C", level="company")
    d1 = await make(system, title="D1", level="division", parent_id=company["id"])
    d2 = await make(system, title="D2", level="division", parent_id=company["id"])
    t1 = await make(system, title="T1", level="team", parent_id=d1["id"])
    t2 = await make(system, title="T2", level="team", parent_id=d2["id"], progress_percentage=20)
    person = await make(
        system, title="I", level="individual", parent_id=t1["id"], progress_percentage=80
    )
    c, d1i, d2i, t1i, t2i, pi = (o["id"] for o in (company, d1, d2, t1, t2, person))
    await expect(system, {t1i: 80, d1i: 80, d2i: 20, c: 50})

    moved = await system.client.post(
        f"/api/v1/objectives/{pi}/move", json={"new_parent_id": t2i}, headers=admin
    )
    assert moved.status_code == 200
    await expect(system, {t1i: 0, d1i: 0, t2i: 80, d2i: 80, c: 40})  # old and new ancestors

    await system.client.put(
        f"/api/v1/objectives/{d2i}", json={"status": "abandoned"}, headers=admin
    )
    await expect(system, {c: 0})
    await system.client.put(f"/api/v1/objectives/{d2i}", json={"status": "active"}, headers=admin)
    await expect(system, {c: 40})

    k1 = await make_kpi(system, target_value=100)
    k2 = await make_kpi(system, target_value=100)
    await value(system, hr, k1["id"], 50)
    await value(system, hr, k2["id"], 100)
    for kpi_id, weight in ((k1["id"], 1.0), (k2["id"], 0.5)):
        linked = await system.client.post(
            f"/api/v1/objectives/{t1i}/kpis",
            json={"kpi_id": kpi_id, "weight": weight},
            headers=admin,
        )
        assert linked.status_code == 201
    two_thirds = (1.0 * 50 + 0.5 * 100) / 1.5
    await expect(system, {t1i: two_thirds, d1i: two_thirds, c: (two_thirds + 80) / 2})

    await system.client.post(
        f"/api/v1/objectives/{t1i}/kpis", json={"kpi_id": k1["id"], "weight": 0.5}, headers=admin
    )
    await expect(system, {t1i: 75.0, c: (75 + 80) / 2})  # a weight change
    await value(system, hr, k1["id"], 100)
    await expect(system, {t1i: 100.0, c: 90.0})
    await system.client.delete(f"/api/v1/objectives/{t1i}/kpis/{k1['id']}", headers=admin)
    await system.client.delete(f"/api/v1/objectives/{t1i}/kpis/{k2['id']}", headers=admin)
    await expect(system, {t1i: 0, c: 40})  # back to manual

    await system.client.delete(f"/api/v1/objectives/{t2i}", headers=admin)
    await expect(system, {d2i: 0, c: 0})  # D2 has no children left: its own (manual) progress
    await system.client.post(f"/api/v1/objectives/{t2i}/restore", headers=admin)
    await expect(system, {d2i: 80, c: 40})

    await system.client.put(
        f"/api/v1/objectives/{t1i}", json={"progress_percentage": 60}, headers=admin
    )
    await expect(system, {d1i: 60, c: 70})

    calculation = (
        await system.client.get(f"/api/v1/objectives/{c}/progress", headers=admin)
    ).json()
    assert calculation["progress_percentage"] == pytest.approx(70)
    assert (
        calculation["calculation_method"],
        calculation["child_count"],
        calculation["kpi_count"],
    ) == ("children", 2, 0)
    recalculated = await system.client.post(f"/api/v1/objectives/{c}/recalculate", headers=admin)
    assert recalculated.status_code == 200
    assert recalculated.json()["progress_percentage"] == pytest.approx(70)
    tree = (
        await system.client.get(
            "/api/v1/objectives/tree/view", params={"root_id": c}, headers=admin
        )
    ).json()
    assert tree[0]["progress_percentage"] == pytest.approx(70)
    _, stranger = await system.user("employee")
    assert (
        await system.client.get(f"/api/v1/objectives/{c}/progress", headers=stranger)
    ).status_code == 404


async def test_rebuild_restores_the_projection_from_the_services(
    system: RunningSystem, hr: Any
) -> None:
    admin = system.admin_headers
    goal = await make(system, title="Rebuilt", level="company")
    team = await make(system, title="Team", level="division", parent_id=goal["id"])
    kpi = await make_kpi(system, target_value=10)
    await system.client.post(
        f"/api/v1/objectives/{team['id']}/kpis", json={"kpi_id": kpi["id"]}, headers=admin
    )
    await value(system, hr, kpi["id"], 3)
    await expect(system, {team["id"]: 30, goal["id"]: 30})
    async with system.engine.begin() as db:  # the projection loses its way
        await db.execute(
            text("DELETE FROM progress.links WHERE objective_id = :id"), {"id": team["id"]}
        )
        await db.execute(
            text(
                "UPDATE progress.objectives SET parent_id = NULL, manual_progress = 99 "
                "WHERE id = :id"
            ),
            {"id": team["id"]},
        )
        await db.execute(text("DELETE FROM progress.kpis WHERE id = :id"), {"id": kpi["id"]})
    reply = await rebuild(system)
    assert reply["objectives"] >= 2 and reply["kpis"] >= 1
    async with system.engine.connect() as db:
        row = (
            await db.execute(
                text("SELECT parent_id, progress FROM progress.objectives WHERE id = :id"),
                {"id": team["id"]},
            )
        ).one()
        links = await db.scalar(
            text("SELECT count(*) FROM progress.links WHERE objective_id = :id AND active"),
            {"id": team["id"]},
        )
    assert (row.parent_id, row.progress, links) == (goal["id"], 30.0, 1)
    await expect(system, {team["id"]: 30, goal["id"]: 30})


async def test_the_stream_refuses_objectives_out_of_view(system: RunningSystem) -> None:
    goal = await make(system, title="Secret", level="company")
    _, employee = await system.user("employee")
    hidden = await system.client.get(
        "/api/v1/progress/stream", params={"objective_id": goal["id"]}, headers=employee
    )
    assert hidden.status_code == 404
    too_many = await system.client.get(
        "/api/v1/progress/stream", params={"objective_id": list(range(1, 502))}, headers=employee
    )
    assert too_many.status_code == 422


async def test_a_rebuild_writes_more_objectives_than_one_statement_may_bind(
    system: RunningSystem,
) -> None:
    """PostgreSQL takes 32,767 parameters a statement: 4,000 rows of 10 were more (a rebuild of
    a company over 3,276 objectives failed)."""
    rows = [{"key": "c", "title": "Wide", "level": "company", "year": 2031}]
    rows += [
        {"key": f"d{n}", "title": "D", "level": "division", "year": 2031, "parent": "c"}
        for n in range(3_400)
    ]
    imported = await system.client.post(
        "/api/v1/objectives/import", json=rows, headers=system.admin_headers
    )
    assert imported.status_code == 201, imported.text[:300]
    assert (await rebuild(system))["objectives"] > 3_400


async def rebuild(system: RunningSystem) -> Any:
    """`rpc.progress.rebuild`, as an operator asks it on NATS; its report, not a refusal."""
    client = await nats.connect(system.nats_url)
    try:
        answer = await client.request(subjects.RPC_PROGRESS_REBUILD, b"{}", timeout=120)
    finally:
        await client.close()
    assert REFUSED not in (answer.headers or {}), answer.data
    return json.loads(answer.data)
