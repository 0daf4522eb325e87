"""KPI progress against hand-computed values, for each direction."""

from __future__ import annotations

import pytest

from okr_shared.contracts.kpis import Direction as D
from okr_shared.kpi_progress import kpi_progress


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "current", "expected"),
    [
        (D.INCREASE, 0, 100, None, None),  # no value yet
        (D.INCREASE, 0, 100, 25, 25.0),
        (D.INCREASE, 10, 20, 15, 50.0),
        (D.INCREASE, 10, 20, 5, 0.0),  # moved the wrong way
        (D.INCREASE, 10, 20, 30, 100.0),  # beyond the target: clamped
        (D.INCREASE, 10, 10, 10, 100.0),  # target == baseline, reached
        (D.INCREASE, 10, 10, 9, 0.0),
        (D.DECREASE, 100, 40, 70, 50.0),  # (70 - 100) / (40 - 100)
        (D.DECREASE, 100, 40, 120, 0.0),
        (D.DECREASE, 100, 40, 10, 100.0),
        (D.DECREASE, 5, 5, 4, 100.0),
        (D.DECREASE, 5, 5, 6, 0.0),
        (D.MAINTAIN_ABOVE, 0, 95, 95, 100.0),
        (D.MAINTAIN_ABOVE, 0, 95, 94.9, 0.0),
        (D.MAINTAIN_BELOW, 0, 3, 3, 100.0),
        (D.MAINTAIN_BELOW, 0, 3, 3.1, 0.0),
        (D.INCREASE, -50, 50, 0, 50.0),
    ],
)
def test_progress(
    direction: D, baseline: float, target: float, current: float | None, expected: float | None
) -> None:
    assert kpi_progress(direction, baseline, target, current) == expected
