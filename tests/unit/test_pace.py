"""Pace as a function of the date, and its thresholds as settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from okr_shared.pace import Health, Pace, expected_progress
from okr_shared.settings import ServiceSettings

START = date(2026, 1, 1)
END = date(2026, 12, 31)  # 365 days


def test_expected_progress_runs_from_the_first_day_to_the_day_after_the_last() -> None:
    assert expected_progress(START, END, START - timedelta(days=9)) == 0.0
    assert expected_progress(START, END, START) == 0.0
    assert expected_progress(START, END, START + timedelta(days=1)) == 0.2  # 0.27, rounded down
    assert expected_progress(START, END, date(2026, 7, 2)) == 49.8  # 182 of 365 days
    assert expected_progress(START, END, END) == 99.7
    assert expected_progress(START, END, END + timedelta(days=1)) == 100.0
    assert expected_progress(START, START, START) == 0.0  # a one-day period
    assert expected_progress(START, START, START + timedelta(days=1)) == 100.0


@pytest.mark.parametrize(
    ("status", "progress", "on", "health"),
    [
        ("active", 0.0, START - timedelta(days=1), Health.NOT_STARTED),
        ("completed", 0.0, START - timedelta(days=1), Health.COMPLETED),
        ("abandoned", 100.0, date(2026, 7, 2), Health.ABANDONED),
        ("active", 39.8, date(2026, 7, 2), Health.ON_TRACK),  # 10 behind 49.8, to the float
        ("active", 39.7, date(2026, 7, 2), Health.AT_RISK),
        ("on_hold", 24.7, date(2026, 7, 2), Health.OFF_TRACK),
        ("active", 0.0, START, Health.ON_TRACK),  # nothing expected on the first day
    ],
)
def test_health_by_the_default_thresholds(
    status: str, progress: float, on: date, health: Health
) -> None:
    assert Pace().health(status, progress, START, END, on) is health


def test_the_thresholds_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_HEALTH_ON_TRACK_WITHIN", "5")
    monkeypatch.setenv("OKR_HEALTH_AT_RISK_WITHIN", "15")
    pace = ServiceSettings().pace
    assert pace == Pace(on_track_within=5, at_risk_within=15)
    on = date(2026, 7, 2)  # 49.8 expected
    assert pace.health("active", 44.8, START, END, on) is Health.ON_TRACK
    assert pace.health("active", 44.7, START, END, on) is Health.AT_RISK
    assert pace.health("active", 34.7, START, END, on) is Health.OFF_TRACK
