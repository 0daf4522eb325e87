"""What moves an objective: the effective weight of every source of its progress.

The rollup (okr_progress.rollup) decides, for each objective below, which rule gives its
progress; a source's share of the objective is the product of its shares on the way down:
1/n for each of n counted children, w/sum(w) for a link among those that have a progress, all
of it for an objective whose manual progress counts, and for one whose period is closed (graded:
its rollup is kept, whatever is below it). So the objective's progress is exactly
sum(effective_weight * progress) over the sources, and the weights sum to 1. (Every progress
the services store is within 0-100, so the rollup's clamps never change a value here.)

A KPI linked in several places is one source with its shares summed; its path is the one
through its heaviest link (the smaller objective id on a tie). A link that weighs nothing moves
nothing and is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from okr_progress.rollup import Inputs, Node, Rollup
from okr_shared.contracts.progress import CalculationMethod, Contribution, ContributionKind

Source = tuple[ContributionKind, int]  # (KPI, its id), or (manual or graded, the objective's id)


@dataclass
class _Found:
    weight: float
    progress: float
    heaviest: float  # the largest share of one link (or the manual objective's share)
    linked_by: int  # the objective of that link


def contributions(
    root_id: int, nodes: Mapping[int, Node], inputs: Inputs, results: Mapping[int, Rollup]
) -> list[Contribution]:
    """The sources of `root_id`'s progress, the largest contribution first. `nodes` holds the
    objectives its rollup counts, `results` their rollups as `rollup.compute` made them."""
    found: dict[Source, _Found] = {}
    share = {root_id: 1.0}
    frontier = [root_id]
    while frontier:  # top-down and iterative: a chain 10,000 deep is fine
        node_id = frontier.pop()
        weight = share[node_id]
        method = results[node_id].method
        if node_id in inputs.frozen:  # graded: nothing below it moves it any more
            source = (ContributionKind.GRADED, node_id)
            _add(found, source, weight, results[node_id].progress, node_id)
        elif method is CalculationMethod.CHILDREN:
            children = inputs.counted_children[node_id]
            for child in children:
                if child not in share:  # a cycle in the data counts once
                    share[child] = weight / len(children)
                    frontier.append(child)
        elif method is CalculationMethod.KPIS:
            linked = inputs.kpis[node_id]
            total = sum(k.weight for k in linked)
            for kpi in linked:
                if kpi.weight > 0:
                    source = (ContributionKind.KPI, kpi.kpi_id)
                    _add(found, source, weight * kpi.weight / total, kpi.progress, node_id)
        else:
            source = (ContributionKind.MANUAL, node_id)
            _add(found, source, weight, results[node_id].progress, node_id)
    items = [_item(source, f, _path(root_id, f.linked_by, nodes)) for source, f in found.items()]
    items.sort(key=lambda i: (-i.contribution, -i.effective_weight, i.kind, i.kpi_id or 0))
    return items


def _add(
    found: dict[Source, _Found], source: Source, weight: float, progress: float, linked_by: int
) -> None:
    held = found.get(source)
    if held is None:
        found[source] = _Found(weight, progress, weight, linked_by)
        return
    held.weight += weight
    if (weight, -linked_by) > (held.heaviest, -held.linked_by):
        held.heaviest, held.linked_by = weight, linked_by


def _path(root_id: int, objective_id: int, nodes: Mapping[int, Node]) -> list[int | None]:
    path: list[int | None] = [objective_id]
    current = objective_id
    while current != root_id:
        parent = nodes[current].parent_id
        if parent is None:  # cannot be: every node was reached from the root through it
            break
        path.append(parent)
        current = parent
    path.reverse()
    return path


def _item(source: Source, found: _Found, path: list[int | None]) -> Contribution:
    kind, source_id = source
    # Built from values computed here, not parsed: validating 100,000 of them (a company of
    # individuals) took longer than computing them.
    return Contribution.model_construct(
        kind=kind,
        kpi_id=source_id if kind is ContributionKind.KPI else None,
        objective_id=found.linked_by,
        path=path,
        effective_weight=found.weight,
        progress=found.progress,
        contribution=found.weight * found.progress,
    )
