"""The objectives permission matrix, cell by cell."""

from __future__ import annotations

import pytest

from okr_objectives.errors import NotAllowed
from okr_objectives.models import Objective
from okr_objectives.permissions import can_view, ensure_can_create
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objectives import ObjectiveLevel as L

ADMIN = Actor(user_id=1, role=Role.ADMIN, department=None)
MANAGER = Actor(user_id=2, role=Role.MANAGER, department="Sales")
EMPLOYEE = Actor(user_id=3, role=Role.EMPLOYEE, department="Sales")
INTEGRATION = Actor(user_id=4, role=Role.INTEGRATION, department=None)


@pytest.mark.parametrize(
    ("actor", "level", "owner", "department", "allowed"),
    [
        (ADMIN, L.COMPANY, 1, None, True),
        (ADMIN, L.TEAM, 9, "Finance", True),
        (MANAGER, L.COMPANY, 2, "Sales", False),
        (MANAGER, L.DIVISION, 2, "Sales", True),
        (MANAGER, L.TEAM, 9, "Sales", True),
        (MANAGER, L.TEAM, 2, "Finance", False),
        (MANAGER, L.INDIVIDUAL, 3, "Sales", True),
        (MANAGER, L.INDIVIDUAL, 9, "Finance", False),
        (EMPLOYEE, L.COMPANY, 3, "Sales", False),
        (EMPLOYEE, L.DIVISION, 3, "Sales", False),
        (EMPLOYEE, L.TEAM, 3, "Sales", False),
        (EMPLOYEE, L.INDIVIDUAL, 3, "Sales", True),
        (EMPLOYEE, L.INDIVIDUAL, 2, "Sales", False),
        (INTEGRATION, L.INDIVIDUAL, 4, None, False),
    ],
)
def test_create(actor: Actor, level: L, owner: int, department: str | None, allowed: bool) -> None:
    if allowed:
        ensure_can_create(actor, level, owner, department)
    else:
        with pytest.raises(NotAllowed):
            ensure_can_create(actor, level, owner, department)


def objective(owner_id: int, department: str | None) -> Objective:
    return Objective(owner_id=owner_id, department=department)


@pytest.mark.parametrize(
    ("actor", "owner", "department", "visible"),
    [
        (ADMIN, 9, "Finance", True),
        (MANAGER, 9, "Sales", True),
        (MANAGER, 2, "Finance", True),  # their own, in another department
        (MANAGER, 9, "Finance", False),
        (MANAGER, 9, None, False),
        (EMPLOYEE, 3, "Finance", True),
        (EMPLOYEE, 9, "Sales", False),  # same department is not enough for an employee
        (INTEGRATION, 4, None, False),
    ],
)
def test_view(actor: Actor, owner: int, department: str | None, visible: bool) -> None:
    assert can_view(actor, objective(owner, department)) is visible
