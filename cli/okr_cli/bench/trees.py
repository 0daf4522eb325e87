"""Large trees for the read benchmarks, made as a client would make them: through
`POST /api/v1/objectives/import`, 10,000 rows at a time. A company, 10 divisions, 100 teams,
and the rest individuals, 1 in 100 under each team (the levels allow no deeper tree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from okr_shared.contracts.objective_import import MAX_ROWS

IMPORT = "/api/v1/objectives/import"
DIVISIONS, TEAMS = 10, 100


@dataclass(frozen=True)
class Tree:
    root: int
    ids: list[int]
    leaves: list[int]


async def import_tree(http: httpx.AsyncClient, size: int, name: str, year: int = 2026) -> Tree:
    """`size` objectives (at least 111) under one company objective titled `name`."""
    row = {"year": year}
    rows: list[dict[str, Any]] = [{**row, "key": "c", "title": name, "level": "company"}]
    rows += [
        {
            **row,
            "key": f"d{d}",
            "title": f"Division {d}",
            "level": "division",
            "parent": "c",
        }
        for d in range(DIVISIONS)
    ]
    rows += [
        {
            **row,
            "key": f"t{t}",
            "title": f"Team {t}",
            "level": "team",
            "parent": f"d{t % 10}",
        }
        for t in range(TEAMS)
    ]
    individuals = size - len(rows)
    rows += [
        {**row, "key": f"i{n}", "title": f"Objective {n}", "level": "individual",
         "parent": f"t{n % TEAMS}"}
        for n in range(individuals)
    ]  # fmt: skip
    ids: dict[str, int] = {}
    for start in range(0, len(rows), MAX_ROWS):
        part = rows[start : start + MAX_ROWS]
        if start:  # the teams came in the first import: name them by id
            part = [{**r, "parent": str(ids[r["parent"]])} for r in part]
        response = await http.post(IMPORT, json=part)
        if response.status_code != 201:
            raise RuntimeError(f"importing the tree: {response.status_code} {response.text[:300]}")
        ids.update((c["key"], c["id"]) for c in response.json()["created"])
    return Tree(
        root=ids["c"],
        ids=sorted(ids.values()),
        leaves=sorted(ids[f"i{n}"] for n in range(individuals)),
    )
