"""Trees larger and deeper than any request path may recurse over: a chain 10,000 deep and a
tree of 111,111 objectives (five levels of fan-out 10), each in one request. The rows are
written with SQL (the level rules forbid a 10,000-deep chain through the API), past the events,
so the gateway's read model takes a new snapshot of them. Each read is asked of the read model
and of a gateway without one, which asks the objectives service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from okr_gateway.read_model.feed import ReadModel
from tests.support.gateways import client_at, extra_gateway
from tests.support.system import RunningSystem

BASE = 10**12  # far above the ids the sequence hands out
COLUMNS = (
    "id, title, description, parent_id, level, owner_id, department, year, quarter, "
    "start_date, end_date, status, progress_percentage, manual_progress, created_by, version"
)


def rows(select: str) -> str:
    return f"INSERT INTO objectives.objectives ({COLUMNS}) {select}"


def values(id_: str, parent: str, level: str) -> str:
    return (
        f"SELECT {id_}, 'Node ' || {id_}, '', {parent}, '{level}', 1, NULL, 2098, NULL, "
        "DATE '2098-01-01', DATE '2098-12-31', 'active', 0, 0, 1, 1"
    )


@pytest.fixture(scope="module")
async def big_trees(system: RunningSystem) -> AsyncIterator[tuple[int, int, int]]:
    chain_root, chain_leaf = BASE + 1, BASE + 10_000
    tree_root = BASE + 100_001
    offsets = [0, 1, 11, 111, 1111, 11111]
    levels = ["company", "division", "team", "individual", "individual", "individual"]
    async with system.engine.begin() as db:
        await db.execute(
            text(
                rows(
                    values(
                        f"{BASE} + g",
                        f"CASE WHEN g = 1 THEN NULL ELSE {BASE} + g - 1 END",
                        "individual",
                    )
                    + " FROM generate_series(1, 10000) AS g"
                )
            )
        )
        for depth in range(6):
            node = f"{tree_root} + {offsets[depth]} + n"
            parent = "NULL" if depth == 0 else f"{tree_root} + {offsets[depth - 1]} + n / 10"
            await db.execute(
                text(
                    rows(
                        values(node, parent, levels[depth])
                        + f" FROM generate_series(0, {10**depth - 1}) AS n"
                    )
                )
            )
    async with system.engine.connect() as db:
        # As any bulk load should: without fresh statistics the planner walks the recursive
        # CTEs with sequential scans (quadratic), where the parent_id index makes them linear.
        await db.execution_options(isolation_level="AUTOCOMMIT")
        await db.execute(text("ANALYZE objectives.objectives"))
    model: ReadModel = system.app.state.gateway.read_model
    await model.resync()
    yield chain_root, chain_leaf, tree_root
    async with system.engine.begin() as db:
        await db.execute(
            text("DELETE FROM objectives.objectives WHERE id >= :base"), {"base": BASE}
        )
    await model.resync()


@pytest.fixture(scope="module", params=["read model", "objectives service"])
async def reader(
    request: pytest.FixtureRequest,
    system: RunningSystem,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[AsyncClient]:
    if request.param == "read model":
        yield system.client
        return
    tmp = tmp_path_factory.mktemp("plain-gateway")
    async with (
        extra_gateway(system, tmp, read_model=False) as plain,
        client_at(plain, "127.0.0.1") as client,
    ):
        yield client


def depth_and_nodes(body: bytes) -> tuple[int, int]:
    """Nesting depth (objects) and node count of a tree view, without a recursive parser."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:
            depth += 1
            deepest = max(deepest, depth)
        elif byte == 0x7D:
            depth -= 1
    return deepest, body.count(b'"children":[')


async def test_a_chain_10000_deep_renders_and_answers_its_ancestors(
    system: RunningSystem, big_trees: tuple[int, int, int], reader: AsyncClient
) -> None:
    chain_root, chain_leaf, _ = big_trees
    tree = await reader.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": chain_root},
        headers=system.admin_headers,
        timeout=60,
    )
    assert tree.status_code == 200
    assert depth_and_nodes(tree.content) == (10_000, 10_000)
    ancestors = await reader.get(
        f"/api/v1/objectives/{chain_leaf}/ancestors", headers=system.admin_headers, timeout=60
    )
    assert ancestors.status_code == 200
    found = ancestors.json()
    assert len(found) == 9_999
    assert (found[0]["id"], found[-1]["id"]) == (chain_leaf - 1, chain_root)


async def test_a_tree_of_111111_objectives_in_one_request(
    system: RunningSystem, big_trees: tuple[int, int, int], reader: AsyncClient
) -> None:
    _, _, tree_root = big_trees
    started = time.perf_counter()
    tree = await reader.get(
        "/api/v1/objectives/tree/view",
        params={"root_id": tree_root},
        headers=system.admin_headers,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert tree.status_code == 200
    assert depth_and_nodes(tree.content) == (6, 111_111)
    roots = tree.json()
    assert len(roots) == 1
    assert len(roots[0]["children"]) == 10
    print(f"tree view of 111,111 objectives: {len(tree.content) / 1e6:.1f} MB in {elapsed:.2f} s")


async def test_a_subtree_delete_larger_than_a_nats_message_is_answered(
    system: RunningSystem,
) -> None:
    """The objectives service answers a delete with the state of every objective it took
    (for the gateway's read model): 4,001 of them are well over NATS's 1 MiB, so the answer
    comes in chunks; sent as one message it never arrived, and the caller got a 503 after
    the delete had committed."""
    root = BASE + 300_001
    async with system.engine.begin() as db:
        await db.execute(text(rows(values(str(root), "NULL", "company"))))
        await db.execute(
            text(
                rows(values(f"{root} + g", str(root), "division"))
                + " FROM generate_series(1, 4000) AS g"
            )
        )
    model: ReadModel = system.app.state.gateway.read_model
    await model.resync()
    try:
        deleted = await system.client.delete(
            f"/api/v1/objectives/{root}", headers=system.admin_headers, timeout=60
        )
        assert deleted.status_code == 204, deleted.text
        for gone in (root, root + 4000):
            answer = await system.client.get(
                f"/api/v1/objectives/{gone}", headers=system.admin_headers
            )
            assert answer.status_code == 404
    finally:
        async with system.engine.begin() as db:
            await db.execute(
                text("DELETE FROM objectives.objectives WHERE id >= :root"), {"root": root}
            )
        await model.resync()
