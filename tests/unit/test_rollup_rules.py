"""The rollup function against a naive recursive reference, on random trees (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from okr_progress.rollup import Inputs, Node, bottom_up, compute

Tree = list[tuple[int | None, float, bool]]  # per node: parent index, manual progress, counts


@st.composite
def trees(draw: st.DrawFn) -> tuple[Tree, dict[int, list[tuple[float, float]]]]:
    size = draw(st.integers(1, 60))
    tree: Tree = []
    for index in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        tree.append((parent, draw(st.floats(0, 100)), draw(st.booleans())))
    kpis = draw(
        st.dictionaries(
            st.integers(0, size - 1),
            st.lists(
                st.tuples(st.sampled_from([0.1, 0.5, 1.0]), st.floats(0, 100)),
                min_size=1,
                max_size=3,
            ),
        )
    )
    return tree, kpis


def reference(tree: Tree, kpis: dict[int, list[tuple[float, float]]]) -> dict[int, float]:
    def progress(i: int) -> float:
        children = [c for c, (p, _, counts) in enumerate(tree) if p == i and counts]
        if children:
            return sum(progress(c) for c in children) / len(children)
        if kpis.get(i):
            return sum(w * p for w, p in kpis[i]) / sum(w for w, _ in kpis[i])
        return tree[i][1]

    return {i: min(100.0, max(0.0, progress(i))) for i in range(len(tree))}


@settings(max_examples=200, deadline=None)
@given(trees())
def test_compute_matches_the_reference(
    world: tuple[Tree, dict[int, list[tuple[float, float]]]],
) -> None:
    tree, kpis = world
    nodes = {i: Node(i, parent, manual) for i, (parent, manual, _) in enumerate(tree)}
    inputs = Inputs(kpis=kpis, kpi_count={i: len(v) for i, v in kpis.items()})
    for i, (parent, _, counts) in enumerate(tree):
        if parent is not None and counts:
            inputs.counted_children.setdefault(parent, []).append(i)
    results = compute(bottom_up(nodes), nodes, inputs)
    expected = reference(tree, kpis)
    assert all(abs(results[i].progress - expected[i]) < 1e-9 for i in expected)


def test_bottom_up_handles_a_chain_10000_deep() -> None:
    nodes = {i: Node(i, i - 1 if i else None, 0.0) for i in range(10_000)}
    order = bottom_up(nodes)
    assert order[0] == 9_999 and order[-1] == 0
