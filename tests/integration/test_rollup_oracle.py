"""The oracle: a random world (objectives with moves, deletes and abandoned ones, weighted links,
periods closed, reopened and closed again over some of them, thousands of KPI values)
published out of order and partly twice, rolled up by 1, 2 and 4 progress workers at once.
Every objective's stored progress must equal a recompute from scratch to 1e-9 (a frozen one's
its graded progress, whatever its KPIs do), the projection must hold the newest state of
everything, and the newest point of each objective's progress history must be its final
progress. The contributions of the roots and of a sample of objectives must match the
oracle's effective weights, and weigh the sources' progress to the objective's, to 1e-9."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import nats
import pytest
from faststream.nats import NatsBroker
from sqlalchemy import text

from okr_progress.main import build as build_progress
from okr_progress.settings import ProgressSettings
from okr_shared import rpc
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.progress import CONTRIBUTIONS, Contributions, ProgressRequest
from okr_shared.db import make_engine
from okr_shared.streams import ensure_streams
from tests.support.system import eventually
from tests.support.world_model import World, build


async def contributions_of(
    broker: NatsBroker, world: World, rng: random.Random
) -> dict[int, Contributions]:
    """rpc.progress.contributions of the roots and a sample of the other live objectives."""
    live = [o for o in world.objectives.values() if not o.deleted]
    chosen = [o.id for o in live if o.parent_id is None]
    chosen += rng.sample([o.id for o in live if o.parent_id is not None], 30)
    admin = Actor(user_id=1, role=Role.ADMIN)
    return {
        oid: await rpc.ask(broker, CONTRIBUTIONS, ProgressRequest(actor=admin, objective_id=oid))
        for oid in chosen
    }


async def drained(js: Any) -> bool:
    for stream, durable in (
        ("OBJECTIVES", "progress-objective-events"),
        ("KPI_EVENTS", "progress-kpi-events"),
    ):
        info = await js.consumer_info(stream, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


@pytest.mark.parametrize(("workers", "seed"), [(1, 11), (2, 22), (4, 44)])
async def test_rollup_is_exact_with_any_number_of_workers(
    own_world: tuple[str, str], workers: int, seed: int
) -> None:
    nats_url, database_url = own_world
    world = build(seed)
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await ensure_streams(js)
    runtimes = [
        build_progress(
            ProgressSettings(
                nats_url=nats_url,
                database_url=database_url,
                instance=f"progress-{n}",
                db_pool_size=3,
            )
        )
        for n in range(workers)
    ]
    for runtime in runtimes:
        await runtime.start()
    try:
        rng = random.Random(seed)
        messages = list(world.events) + rng.sample(world.events, len(world.events) // 10)  # repeats
        rng.shuffle(messages)  # out of order
        for start in range(0, len(messages), 200):
            await asyncio.gather(
                *(
                    js.publish(subject, event.model_dump_json().encode())
                    for subject, event in messages[start : start + 200]
                )
            )

        async def done() -> bool:
            return await drained(js)

        await eventually(done, timeout_s=120)
        answered = await contributions_of(runtimes[0].broker, world, rng)
        engine = make_engine(database_url, pool_size=1)
        async with engine.connect() as db:
            stored = {
                r.id: r
                for r in await db.execute(
                    text(
                        "SELECT id, parent_id, status, deleted, manual_progress, progress, frozen "
                        "FROM progress.objectives"
                    )
                )
            }
            links = {
                (r.objective_id, r.kpi_id): r
                for r in await db.execute(
                    text("SELECT objective_id, kpi_id, weight, active FROM progress.links")
                )
            }
            last_points = dict(
                (r.objective_id, r.progress)
                for r in await db.execute(
                    text(
                        "SELECT DISTINCT ON (objective_id) objective_id, progress "
                        "FROM progress.history ORDER BY objective_id, version DESC"
                    )
                )
            )
        await engine.dispose()
    finally:
        for runtime in runtimes:
            await runtime.stop()
        await client.close()

    for oid, state in world.objectives.items():
        row = stored[oid]
        assert (row.parent_id, row.status, row.deleted, row.manual_progress) == (
            state.parent_id,
            state.status.value,
            state.deleted,
            state.manual_progress,
        ), oid
    frozen = {oid for oid, row in stored.items() if row.frozen}
    assert frozen == set(world.frozen()), "the newest close or reopen of each must hold"
    assert world.frozen(), "the world should freeze some objectives"
    for key, link in world.links.items():
        assert (links[key].weight, links[key].active) == (link.weight, link.active)
    expected = world.rollup()
    wrong = {
        oid: (stored[oid].progress, value)
        for oid, value in expected.items()
        if stored[oid].progress is None or abs(stored[oid].progress - value) > 1e-9
    }
    assert not wrong, (
        f"{len(wrong)} of {len(expected)} objectives differ, e.g. {list(wrong.items())[:5]}"
    )
    # The history's newest point of each objective is the rollup it ended with (deleted ones
    # keep the last rollup they had).
    rolled_up = {oid: row.progress for oid, row in stored.items() if row.progress is not None}
    assert last_points == rolled_up
    for oid, answer in answered.items():
        weights = {
            (i.kind.value, i.kpi_id if i.kpi_id is not None else i.objective_id): i.effective_weight
            for i in answer.items
        }
        oracle = world.contributions(oid)
        assert weights.keys() == oracle.keys(), oid
        assert all(abs(weights[k] - oracle[k]) < 1e-9 for k in oracle), oid
        weighed = sum(i.effective_weight * i.progress for i in answer.items)
        assert abs(weighed - expected[oid]) < 1e-9, oid
        assert abs(answer.progress_percentage - expected[oid]) < 1e-9, oid
