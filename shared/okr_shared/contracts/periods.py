"""Periods and grades: what API consumers send and receive. A period is a year or a quarter of
a year; closing it grades every objective of it (progress / 100, two decimals) and freezes
them; reopening unfreezes them and their progress is recomputed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from okr_shared.contracts.common import Contract
from okr_shared.contracts.objectives import Quarter


class PeriodState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def period_name(year: int, quarter: Quarter | str | None) -> str:
    """`2026` or `2026 Q1`, as messages name a period."""
    return f"{year} {Quarter(quarter).value}" if quarter else str(year)


class Period(Contract):
    year: int
    quarter: Quarter | None = Field(description="null for the whole year")
    state: PeriodState
    closed_at: datetime | None
    closed_by: int | None
    objectives: int = Field(description="live objectives of the period the caller may see")
    graded: int = Field(description="how many of them have a grade")
    average_grade: dict[str, float | None] = Field(
        description="by level, over the graded objectives the caller may see (null: none)"
    )
