"""The rollup rules, as a pure function over one part of the tree.

For each objective, in this order:
1. children that are not abandoned or deleted -> the plain average of their progress (children);
2. else linked KPIs that have a progress -> the weighted average sum(w*p)/sum(w) (kpis);
3. else its manual progress (manual).
Always within 0-100. Values are recomputed from their sources, never adjusted by increments.
An objective whose period is closed (frozen) keeps its graded rollup, and its parent averages
that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from okr_shared.contracts.progress import CalculationMethod


@dataclass(frozen=True)
class Node:
    id: int
    parent_id: int | None
    manual_progress: float


@dataclass(frozen=True)
class Rollup:
    progress: float
    method: CalculationMethod
    child_count: int
    kpi_count: int


class LinkedKpi(NamedTuple):
    """An active link to a KPI that has a progress."""

    weight: float
    progress: float
    kpi_id: int


@dataclass
class Inputs:
    """What the computation of some objectives reads: their counting children (with the stored
    progress of those not being recomputed), and their links to KPIs."""

    counted_children: dict[int, list[int]] = field(default_factory=dict)
    stored_progress: dict[int, float] = field(default_factory=dict)
    kpis: dict[int, list[LinkedKpi]] = field(default_factory=dict)
    kpi_count: dict[int, int] = field(default_factory=dict)
    frozen: dict[int, Rollup] = field(default_factory=dict)  # graded: kept as they are


def bottom_up(nodes: Mapping[int, Node]) -> list[int]:
    """The ids of `nodes`, every child before its parent (a node's depth counts only the
    ancestors among `nodes`). Iterative: a chain 10,000 deep is fine."""
    depth: dict[int, int] = {}
    for start in nodes:
        chain: list[int] = []
        seen: set[int] = set()
        current: int | None = start
        while current is not None and current in nodes and current not in depth:
            if current in seen:  # a cycle in the data: stop walking, rather than loop
                break
            seen.add(current)
            chain.append(current)
            current = nodes[current].parent_id
        base = depth.get(current, -1) if current is not None else -1
        for node_id in reversed(chain):
            base += 1
            depth[node_id] = base
    return sorted(nodes, key=lambda n: depth[n], reverse=True)


def compute(order: Iterable[int], nodes: Mapping[int, Node], inputs: Inputs) -> dict[int, Rollup]:
    results: dict[int, Rollup] = {}
    for node_id in order:
        if node_id in inputs.frozen:
            results[node_id] = inputs.frozen[node_id]
            continue
        children = inputs.counted_children.get(node_id, [])
        kpi_count = inputs.kpi_count.get(node_id, 0)
        if children:
            values = [
                results[c].progress if c in results else inputs.stored_progress.get(c, 0.0)
                for c in children
            ]
            results[node_id] = Rollup(
                _clamp(sum(values) / len(values)),
                CalculationMethod.CHILDREN,
                len(children),
                kpi_count,
            )
            continue
        weighted = inputs.kpis.get(node_id, [])
        total_weight = sum(k.weight for k in weighted)
        if weighted and total_weight > 0:
            value = sum(k.weight * k.progress for k in weighted) / total_weight
            results[node_id] = Rollup(_clamp(value), CalculationMethod.KPIS, 0, kpi_count)
            continue
        results[node_id] = Rollup(
            _clamp(nodes[node_id].manual_progress), CalculationMethod.MANUAL, 0, kpi_count
        )
    return results


def _clamp(value: float) -> float:
    return min(100.0, max(0.0, value))
