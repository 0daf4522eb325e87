"""Pace: how far along an objective should be today, and whether it keeps up. A function of the
date, so every read computes it and no event is needed when a day passes; the objectives
service and the gateway's read model call the same functions, so their answers agree.

The period runs from the start of `start_date` to the end of `end_date` (UTC days): on the
first day 0 % of it has elapsed, on the day after the last 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from okr_shared.contracts.objectives import ObjectiveStatus


class Health(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


def today() -> date:
    return datetime.now(UTC).date()


def expected_progress(start: date, end: date, on: date) -> float:
    """The share of the period elapsed at the start of `on`, 0 to 100, one decimal."""
    days = (end - start).days + 1
    elapsed = min(max((on - start).days, 0), days)
    return round(100 * elapsed / days, 1)


@dataclass(frozen=True, slots=True)
class Pace:
    """The thresholds, in percentage points below the expected progress (settings:
    `OKR_HEALTH_ON_TRACK_WITHIN`, `OKR_HEALTH_AT_RISK_WITHIN`)."""

    on_track_within: float = 10.0
    at_risk_within: float = 25.0

    def health(
        self, status: ObjectiveStatus, progress: float, start: date, end: date, on: date
    ) -> Health:
        if status is ObjectiveStatus.COMPLETED:
            return Health.COMPLETED
        if status is ObjectiveStatus.ABANDONED:
            return Health.ABANDONED
        if on < start:
            return Health.NOT_STARTED
        behind = expected_progress(start, end, on) - progress
        if behind <= self.on_track_within:
            return Health.ON_TRACK
        if behind <= self.at_risk_within:
            return Health.AT_RISK
        return Health.OFF_TRACK
