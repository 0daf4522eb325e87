"""Contributions on random trees (hypothesis): the effective weights sum to 1 and weigh the
sources' progress to exactly the rollup's progress, with abandoned subtrees, KPIs without a
value, links that weigh nothing and KPIs linked in several places; and the README's example."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from okr_progress.contributions import contributions
from okr_progress.rollup import Inputs, LinkedKpi, Node, Rollup, bottom_up, compute
from okr_shared.contracts.progress import CalculationMethod, ContributionKind

# per node: parent index, manual progress, counts (not abandoned)
Tree = list[tuple[int | None, float, bool]]
GRADED = 55.5  # the progress a frozen (graded) objective keeps
Links = dict[int, list[tuple[int, float, float | None]]]  # per node: (KPI id, weight, progress)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Tree, Links, frozenset[int]]:
    size = draw(st.integers(1, 40))
    tree: Tree = [(None, draw(st.floats(0, 100)), True)]
    for index in range(1, size):
        parent = draw(st.integers(0, index - 1))
        tree.append((parent, draw(st.floats(0, 100)), draw(st.booleans())))
    # Few KPIs, so that many are linked in several places; each has one progress, or none.
    progress = draw(st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=8, max_size=8))
    link = st.tuples(st.integers(0, 7), st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]))
    linked = draw(
        st.dictionaries(
            st.integers(0, size - 1), st.lists(link, max_size=3, unique_by=lambda k: k[0])
        )
    )
    links = {i: [(k, w, progress[k]) for k, w in kpis] for i, kpis in linked.items()}
    # About 1 node in 10 is graded (its period closed): what is below it no longer moves it.
    graded = draw(st.frozensets(st.integers(0, size - 1), max_size=max(1, size // 10)))
    return tree, links, graded


def rolled_up(
    tree: Tree, links: Links, graded: frozenset[int] = frozenset()
) -> tuple[dict[int, Node], Inputs]:
    """As the service reads the counted subtree of node 0: down through counting children."""
    counted = {0}
    for index, (parent, _, counts) in enumerate(tree):
        if parent in counted and counts:
            counted.add(index)
    nodes = {i: Node(i, tree[i][0], tree[i][1]) for i in counted}
    kept = Rollup(GRADED, CalculationMethod.MANUAL, 0, 0)
    inputs = Inputs(frozen={i: kept for i in graded & counted})
    for i in sorted(counted - {0}):
        inputs.counted_children.setdefault(tree[i][0] or 0, []).append(i)
    for i in counted:
        for kpi_id, weight, progress in links.get(i, []):
            inputs.kpi_count[i] = inputs.kpi_count.get(i, 0) + 1
            if progress is not None:
                inputs.kpis.setdefault(i, []).append(LinkedKpi(weight, progress, kpi_id))
    return nodes, inputs


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_weights_sum_to_one_and_weigh_to_the_progress(
    world: tuple[Tree, Links, frozenset[int]],
) -> None:
    nodes, inputs = rolled_up(*world)
    results = compute(bottom_up(nodes), nodes, inputs)
    items = contributions(0, nodes, inputs, results)
    assert abs(sum(i.effective_weight for i in items) - 1.0) < 1e-9
    assert abs(sum(i.effective_weight * i.progress for i in items) - results[0].progress) < 1e-9
    assert all(abs(i.contribution - i.effective_weight * i.progress) < 1e-12 for i in items)
    assert [i.contribution for i in items] == sorted((i.contribution for i in items), reverse=True)
    kpis = [i.kpi_id for i in items if i.kind is ContributionKind.KPI]
    assert len(kpis) == len(set(kpis))  # one item per KPI
    for item in items:
        assert item.path[0] == 0 and item.path[-1] == item.objective_id
        assert all(nodes[c].parent_id == p for p, c in zip(item.path, item.path[1:], strict=False))
        assert item.effective_weight > 0


def test_the_readme_example() -> None:
    """A division (1) of a team (2) linking KPI 11 (weight 1, at 80 %) and KPI 12 (weight 3, at
    40 %), an abandoned team (3) and a team at 70 % (4); KPI 13 has no value."""
    tree: Tree = [(None, 0.0, True), (0, 0.0, True), (0, 90.0, False), (0, 70.0, True)]
    links: Links = {1: [(11, 1.0, 80.0), (12, 3.0, 40.0), (13, 1.0, None)], 2: [(14, 1.0, 99.0)]}
    nodes, inputs = rolled_up(tree, links)
    results = compute(bottom_up(nodes), nodes, inputs)
    items = contributions(0, nodes, inputs, results)
    assert results[0].progress == 60.0
    assert [(i.kind, i.kpi_id, i.objective_id, i.path) for i in items] == [
        (ContributionKind.MANUAL, None, 3, [0, 3]),
        (ContributionKind.KPI, 12, 1, [0, 1]),
        (ContributionKind.KPI, 11, 1, [0, 1]),
    ]
    assert [(i.effective_weight, i.contribution) for i in items] == [
        (0.5, 35.0),
        (0.375, 15.0),
        (0.125, 10.0),
    ]


def test_a_kpi_linked_twice_is_one_item_on_its_heaviest_path() -> None:
    tree: Tree = [(None, 0.0, True), (0, 0.0, True), (0, 0.0, True), (2, 0.0, True)]
    links: Links = {1: [(7, 1.0, 50.0), (8, 1.0, 10.0)], 3: [(7, 0.5, 50.0)]}
    nodes, inputs = rolled_up(tree, links)
    items = contributions(0, nodes, inputs, compute(bottom_up(nodes), nodes, inputs))
    (kpi7,) = [i for i in items if i.kpi_id == 7]
    # 1/2 * 1/2 through node 1, and 1/2 * 1 through nodes 2 and 3: the heavier.
    assert kpi7.effective_weight == 0.75 and kpi7.path == [0, 2, 3] and kpi7.objective_id == 3
