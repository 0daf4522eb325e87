from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from okr_shared.contracts.kpis import KpiValueIn
from okr_shared.contracts.objectives import ObjectiveCreate, ObjectiveLevel, Quarter


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        (Quarter.Q1, date(2028, 1, 1), date(2028, 3, 31)),
        (Quarter.Q2, date(2028, 4, 1), date(2028, 6, 30)),
        (Quarter.Q3, date(2028, 7, 1), date(2028, 9, 30)),
        (Quarter.Q4, date(2028, 10, 1), date(2028, 12, 31)),
    ],
)
def test_quarter_bounds(quarter: Quarter, start: date, end: date) -> None:
    assert quarter.bounds(2028) == (start, end)


def test_period_defaults_to_the_year_or_the_quarter_and_keeps_given_dates() -> None:
    annual = ObjectiveCreate(title="t", level=ObjectiveLevel.TEAM, year=2027)
    assert annual.period() == (date(2027, 1, 1), date(2027, 12, 31))
    given = ObjectiveCreate(
        title="t",
        level=ObjectiveLevel.TEAM,
        year=2027,
        quarter=Quarter.Q2,
        end_date=date(2027, 5, 15),
    )
    assert given.period() == (date(2027, 4, 1), date(2027, 5, 15))


def test_levels_rank_from_company_down() -> None:
    ranks = [level.rank for level in ObjectiveLevel]
    assert ranks == sorted(ranks) == [0, 1, 2, 3]
    assert ObjectiveLevel.COMPANY.rank < ObjectiveLevel.INDIVIDUAL.rank


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "x" * 201),
        ("year", 1999),
        ("quarter", "Q5"),
        ("progress_percentage", 101),
        ("progress_percentage", float("nan")),
        ("department", "d" * 101),
        ("id", 7),
        ("version", 2),
        ("created_by", 1),
    ],
)
def test_objective_create_refuses(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ObjectiveCreate.model_validate({"title": "t", "level": "team", "year": 2026, field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_title_is_trimmed() -> None:
    assert ObjectiveCreate(title="  Grow  ", level=ObjectiveLevel.TEAM, year=2026).title == "Grow"


@pytest.mark.parametrize("observed_at", [5, 1.7e9, "1700000000", "-12", "yesterday", True])
def test_a_kpi_value_time_is_iso_8601_text_only(observed_at: object) -> None:
    # pydantic alone would file 5 or "1700000000" as seconds since 1970
    with pytest.raises(ValidationError, match="observed_at"):
        KpiValueIn.model_validate({"value": 1, "observed_at": observed_at})


def test_a_kpi_value_time_may_be_given_with_or_without_a_zone() -> None:
    assert KpiValueIn.model_validate_json('{"value": 1, "observed_at": "2026-03-31T12:00:00Z"}')
    assert KpiValueIn.model_validate_json('{"value": 1, "observed_at": "2026-03-31T12:00:00"}')
