"""KPI progress: one formula for both directions, as serious OKR tools compute it. The rule the
README documents, in `shared` because it is a contract: the KPIs service applies it, and tools
that predict a KPI's progress (the demo) read it from here rather than from the service.

- increase / decrease: (current - baseline) / (target - baseline) x 100, clamped to 0-100;
  a value that moved the wrong way is 0. With target == baseline: 100 once the target is
  reached in the KPI's direction, else 0.
- maintain_above: 100 when current >= target, else 0; maintain_below: 100 when current <=
  target, else 0.
- No value yet: None, and the KPI does not count in rollups.
"""

from __future__ import annotations

from okr_shared.contracts.kpis import Direction


def kpi_progress(
    direction: Direction, baseline: float, target: float, current: float | None
) -> float | None:
    if current is None:
        return None
    if direction is Direction.MAINTAIN_ABOVE:
        return 100.0 if current >= target else 0.0
    if direction is Direction.MAINTAIN_BELOW:
        return 100.0 if current <= target else 0.0
    if target == baseline:
        reached = current >= target if direction is Direction.INCREASE else current <= target
        return 100.0 if reached else 0.0
    share = (current - baseline) / (target - baseline) * 100.0
    return min(100.0, max(0.0, share))
