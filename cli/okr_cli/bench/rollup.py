"""Rollup latency, every value timed: from publishing a KPI value to the first update of the
company objective, four levels up, that reflects it.

The ruler makes each company update name the value it reflects. The values sent are 1, 2, 3 ...
N, each observed a millisecond after the one before, to a KPI with target N and baseline 0
linked to one of the ten people of a team (division and company have one child each). The KPIs
service moves a KPI only to a newer value, so the KPI, and so the company, only ever move
forward; and the company's progress is value / N x 100 / 10, a different number for each value
(`company_progress`), so an update's `progress_percentage` tells exactly which value it reflects.

Value n's time ends at the first update that reflects n or a later value: a value the KPIs
service or the progress worker took in one batch with later ones is timed to the update that
carried them all, not dropped, and one update can end the times of many values.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

PEOPLE = 10  # people in the team; one of them has the KPI, the others count as 0
MIN_TIMED_SHARE = 0.99  # below this, the figures describe too few of the values to be read
SAME = 1e-9  # the largest difference between two computations of one progress, in points


def company_progress(value: int, target: int) -> float:
    """The company's progress once the KPI holds `value` (okr_shared.kpi_progress, then the rollup
    rules: the person's one KPI, the team's average of ten, one child for division and company)."""
    kpi = value / target * 100.0
    return kpi / PEOPLE


@dataclass
class RollupClock:
    target: int  # the KPI's target: the number of values that will be sent
    sent_at: list[float] = field(default_factory=list)  # value n was published at sent_at[n - 1]
    latencies_ms: list[float] = field(default_factory=list)  # value n's at latencies_ms[n - 1]
    unrecognised: int = 0  # updates whose progress is no value's: the ruler's premise broke

    def send(self, at: float) -> int:
        """Note the publishing of the next value, before it is published; that value."""
        self.sent_at.append(at)
        return len(self.sent_at)

    def reflected(self, progress: float) -> int | None:
        """The value an update of the company reflects (0 before any), or None if none does."""
        value = round(progress * PEOPLE * self.target / 100.0)
        if not 0 <= value <= self.target:
            return None
        return value if abs(company_progress(value, self.target) - progress) <= SAME else None

    def update(self, progress: float, at: float) -> None:
        """An update of the company arrived at `at`: it ends the time of every value sent up to
        the one it reflects that has not been timed yet."""
        value = self.reflected(progress)
        if value is None:
            self.unrecognised += 1
            return
        for n in range(len(self.latencies_ms) + 1, min(value, len(self.sent_at)) + 1):
            self.latencies_ms.append((at - self.sent_at[n - 1]) * 1000)

    @property
    def all_timed(self) -> bool:
        return len(self.latencies_ms) == len(self.sent_at)

    def figures(self) -> dict[str, float]:
        found: dict[str, float] = {
            "rollup_latency_timed": len(self.latencies_ms),
            "rollup_latency_sent": len(self.sent_at),
        }
        if self.latencies_ms:
            found["rollup_latency_p50_ms"] = statistics.median(self.latencies_ms)
            found["rollup_latency_p99_ms"] = percentile(self.latencies_ms, 0.99)
        return found


def shortfall(figures: dict[str, float]) -> str | None:
    """Why the rollup figures cannot be read, if they cannot: too few values were timed."""
    timed = figures.get("rollup_latency_timed", 0)
    sent = figures.get("rollup_latency_sent", 0)
    if sent and timed / sent >= MIN_TIMED_SHARE:
        return None
    share = timed / sent if sent else 0.0
    return (
        f"rollup latency timed {timed:,.0f} of {sent:,.0f} values sent ({share:.1%}); "
        f"under {MIN_TIMED_SHARE:.0%} its percentiles would leave out the slowest"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
