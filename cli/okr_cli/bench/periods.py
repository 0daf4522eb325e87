"""Closing a period of the 111k tree: the request that grades and freezes every objective of
it, and the time until every service has taken its events; then the reopening, likewise."""

from __future__ import annotations

import time

import httpx

from okr_cli.bench.waits import until_idle


class CloseFailed(RuntimeError):
    pass


async def close_and_reopen(
    http: httpx.AsyncClient, year: int, objectives: int, nats_url: str, database_url: str
) -> dict[str, float]:
    """`year` holds `objectives` objectives and nothing else."""
    figures: dict[str, float] = {}
    for action in ("close", "reopen"):
        started = time.perf_counter()
        response = await http.post(f"/api/v1/periods/{year}/{action}")
        answered = time.perf_counter() - started
        if response.status_code != 200:
            raise CloseFailed(f"{action} {year} answered {response.status_code}: {response.text}")
        graded = response.json()["graded"]
        if graded != (objectives if action == "close" else 0):
            raise CloseFailed(f"{action} {year}: {graded} graded of {objectives}")
        await until_idle(nats_url, database_url)
        figures[f"{action}_period_111k_s"] = answered
        figures[f"{action}_period_111k_settled_s"] = time.perf_counter() - started
    return figures
