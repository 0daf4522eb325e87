"""The chaos judge itself must catch what it is there to catch."""

from __future__ import annotations

from typing import Any

from okr_cli.chaos.verdict import _rollup_mismatches
from okr_cli.chaos.workload import value_stream


def _tree(company: float, team: float, person: float) -> dict[str, list[dict[str, Any]]]:
    def node(oid: int, parent: int | None, progress: float) -> dict[str, Any]:
        return {
            "id": oid,
            "parent_id": parent,
            "status": "active",
            "manual_progress": 0.0,
            "deleted": False,
            "shown": progress,
            "rolled": progress,
        }

    return {
        "objectives": [node(1, None, company), node(2, 1, team), node(3, 2, person)],
        "links": [
            {"objective_id": 3, "kpi_id": 10, "weight": 1.0},
            {"objective_id": 3, "kpi_id": 11, "weight": 0.25},
        ],
    }


def test_a_correct_rollup_has_no_mismatch() -> None:
    # person: (1 * 40 + 0.25 * 80) / 1.25 = 48; its team and company average it
    assert _rollup_mismatches(_tree(48, 48, 48), {10: 40.0, 11: 80.0}) == []


def test_a_stale_or_missing_rollup_is_a_mismatch() -> None:
    assert _rollup_mismatches(_tree(47, 48, 48), {10: 40.0, 11: 80.0}) == [(1, 48.0, 47, 47)]
    tree = _tree(48, 48, 48)
    tree["objectives"][2]["rolled"] = None
    assert _rollup_mismatches(tree, {10: 40.0, 11: 80.0}) == [(3, 48.0, None, 48)]


def test_the_value_stream_repeats_and_reorders() -> None:
    stream = value_stream([1, 2, 3], 1000, seed=5)
    carried = [key for m in stream.messages for key in m.keys]
    assert set(carried) == set(stream.values)
    assert len(carried) >= 1100  # a tenth sent twice
    order = [stream.values[key].observed_at for key in carried]
    assert order != sorted(order)
    assert stream.latest(set(stream.values)) == {
        kpi: max(
            (v for v in stream.values.values() if v.kpi_id == kpi), key=lambda v: v.observed_at
        ).value
        for kpi in (1, 2, 3)
    }
