"""The demo's company plan: the size asked for, four levels, every direction and role."""

from __future__ import annotations

import pytest

from okr_cli.demo.company import MAX_SIZE, MIN_SIZE, plan
from okr_cli.demo.view import colour
from okr_shared.contracts.common import Role
from okr_shared.contracts.kpis import Direction
from okr_shared.contracts.objectives import ObjectiveLevel


@pytest.mark.parametrize("size", [MIN_SIZE, 60, 1000, 4321])
def test_a_plan_has_the_size_asked_for_over_four_levels(size: int) -> None:
    company = plan(size, "ab12", 2026)
    assert len(company.goals) == size
    assert len(company.of_level(ObjectiveLevel.COMPANY)) == 1
    assert all(len(company.of_level(level)) > 0 for level in ObjectiveLevel)
    for goal in company.goals:  # parents first, one level up
        if goal.parent is not None:
            parent = company.goals[goal.parent]
            assert parent.key < goal.key
            assert parent.level.rank == goal.level.rank - 1


def test_a_plan_has_every_direction_role_and_a_person_for_every_kpi() -> None:
    company = plan(1000, "ab12", 2026)
    assert {k.direction for k in company.kpis} == set(Direction)
    assert {p.role for p in company.people} == set(Role)
    people = company.of_level(ObjectiveLevel.INDIVIDUAL)
    linked = {kpi for goal in people for kpi, _ in goal.links}
    assert linked == {k.key for k in company.kpis}
    assert all(0 < weight <= 1 for goal in company.goals for _, weight in goal.links)
    assert len({p.username for p in company.people}) == len(company.people)
    assert plan(1000, "cd34", 2026).people[0].username != company.people[0].username


@pytest.mark.parametrize("size", [MIN_SIZE - 1, MAX_SIZE + 1])
def test_a_size_out_of_range_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="size must be between"):
        plan(size, "ab12", 2026)


def test_bars_are_red_below_40_amber_up_to_70_and_green_above() -> None:
    assert [colour(p) for p in (0, 39.9, 40, 69.9, 70, 70.1, 100)] == [
        "red", "red", "yellow", "yellow", "yellow", "green", "green",
    ]  # fmt: skip
