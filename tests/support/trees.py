"""Large trees for the slow tests, written with SQL (fan-out 10, individuals below
individuals, deeper than the API's levels allow): the shape, not its creation, is what those
tests are about. The benchmark imports its trees through the API (okr_cli.bench.trees)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

COLUMNS = (
    "id, title, description, parent_id, level, owner_id, department, year, quarter, "
    "start_date, end_date, status, progress_percentage, manual_progress, created_by, version"
)
LEVELS = ["company", "division", "team", "individual", "individual", "individual"]


@dataclass(frozen=True)
class Tree:
    root: int
    ids: list[int]
    leaves: list[int]


async def insert_tree(engine: AsyncEngine, *, base: int, depth: int) -> Tree:
    """1 + 10 + ... + 10**depth objectives under one root, ids from base + 1."""
    offsets = [sum(10**d for d in range(level)) for level in range(depth + 1)]
    async with engine.begin() as db:
        for level in range(depth + 1):
            node = f"{base + 1} + {offsets[level]} + n"
            parent = "NULL" if level == 0 else f"{base + 1} + {offsets[level - 1]} + n / 10"
            await db.execute(
                text(
                    f"INSERT INTO objectives.objectives ({COLUMNS}) "
                    f"SELECT {node}, 'Objective ' || ({node}), '', {parent}, '{LEVELS[level]}', 1, "
                    "NULL, 2026, NULL, DATE '2026-01-01', DATE '2026-12-31', 'active', 0, 0, 1, 1 "
                    f"FROM generate_series(0, {10**level - 1}) AS n"
                )
            )
    async with engine.connect() as db:
        await db.execution_options(isolation_level="AUTOCOMMIT")
        await db.execute(text("ANALYZE objectives.objectives"))
    first_leaf = base + 1 + offsets[depth]
    total = offsets[depth] + 10**depth
    return Tree(
        root=base + 1,
        ids=list(range(base + 1, base + 1 + total)),
        leaves=list(range(first_leaf, first_leaf + 10**depth)),
    )
