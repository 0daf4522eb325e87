"""The pace of okr_shared.pace as SQL expressions over the objectives table, for what must be
selected in PostgreSQL: `?health=` under a page's LIMIT, the stats' counts and the tree's JSON.
The same integer arithmetic and float comparisons as the Python, so both give the same health
(tests/unit/test_pace.py compares them on random objectives)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Double, Integer, case, cast, func, literal, type_coerce

from okr_objectives.models import Objective
from okr_shared.pace import Health, Pace


def expected_progress(on: date) -> ColumnElement[Any]:
    days = type_coerce(Objective.end_date - Objective.start_date, Integer) + 1
    since = type_coerce(literal(on, Date) - Objective.start_date, Integer)
    elapsed = func.least(func.greatest(since, 0), days)
    # Integer division, as in Python's `1000 * elapsed // days`; then a float8 division by 10.
    return cast(type_coerce(1000 * elapsed, Integer) // days, Double) / 10.0


def health(pace: Pace, on: date) -> ColumnElement[str]:
    behind = expected_progress(on) - Objective.progress_percentage
    return case(
        (Objective.status == "completed", Health.COMPLETED.value),
        (Objective.status == "abandoned", Health.ABANDONED.value),
        (Objective.start_date > literal(on, Date), Health.NOT_STARTED.value),
        (behind <= literal(pace.on_track_within, Double), Health.ON_TRACK.value),
        (behind <= literal(pace.at_risk_within, Double), Health.AT_RISK.value),
        else_=Health.OFF_TRACK.value,
    )
