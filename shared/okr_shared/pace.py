"""Pace: how far along an objective should be today, and whether it keeps up. A function of the
date, so every read computes it and no event is needed when a day passes. The objectives
service and the gateway's read model serialise objectives through the same contract
(`ObjectiveResponse` computes both fields from these functions), so their answers agree; the
objectives service's SQL twin (for `?health=` and the stats) is okr_objectives.pace_sql.

The period runs from the start of `start_date` to the end of `end_date` (UTC days): on the first
day 0 % of it has elapsed, on the day after the last 100 %. The share is rounded down to one
decimal with integers, so that SQL computes exactly the same number.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum


class Health(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


_today: tuple[int, date] = (0, date.min)


def today() -> date:
    """Today in UTC. Asked twice for every objective serialised (a page of 500, a tree of
    100,000): a clock reading and an integer compare, the date made once a day."""
    global _today  # noqa: PLW0603 - a cache of the date
    day = int(time.time() // 86_400)
    if day != _today[0]:
        _today = (day, datetime.fromtimestamp(day * 86_400, UTC).date())
    return _today[1]


@functools.lru_cache(maxsize=4096)  # most objectives share a few periods (years, quarters)
def expected_progress(start: date, end: date, on: date) -> float:
    """The share of the period elapsed at the start of `on`, 0 to 100, one decimal."""
    days = (end - start).days + 1
    elapsed = min(max((on - start).days, 0), days)
    return (1000 * elapsed // days) / 10


@dataclass(frozen=True, slots=True)
class Pace:
    """The thresholds, in percentage points below the expected progress (settings:
    `OKR_HEALTH_ON_TRACK_WITHIN`, `OKR_HEALTH_AT_RISK_WITHIN`)."""

    on_track_within: float = 10.0
    at_risk_within: float = 25.0

    def health(self, status: str, progress: float, start: date, end: date, on: date) -> Health:
        """`status` is the objective's (completed and abandoned say it all)."""
        if status == "completed":
            return Health.COMPLETED
        if status == "abandoned":
            return Health.ABANDONED
        if on < start:
            return Health.NOT_STARTED
        behind = expected_progress(start, end, on) - progress
        if behind <= self.on_track_within:
            return Health.ON_TRACK
        if behind <= self.at_risk_within:
            return Health.AT_RISK
        return Health.OFF_TRACK


_current = Pace()


def use(pace: Pace) -> None:
    """The thresholds of this process (its settings): set once, as a service starts."""
    global _current  # noqa: PLW0603 - a setting read by every serialisation of an objective
    _current = pace


def current() -> Pace:
    return _current
