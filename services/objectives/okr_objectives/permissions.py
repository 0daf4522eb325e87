"""The permission matrix for objectives, in one place.

| action                  | admin | manager                      | employee          |
|-------------------------|-------|------------------------------|-------------------|
| create company          | yes   | no                           | no                |
| create division / team  | yes   | in own department            | no                |
| create individual       | yes   | in own department            | owned by self     |
| view                    | all   | own department's, and own    | own only          |

Integration users (HR systems) have no access to objectives.
"""

from __future__ import annotations

from okr_objectives.errors import NotAllowed
from okr_objectives.models import Objective
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objectives import ObjectiveLevel


def can_view(actor: Actor, objective: Objective) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if objective.owner_id == actor.user_id:
        return actor.role in (Role.MANAGER, Role.EMPLOYEE)
    return actor.role is Role.MANAGER and _same_department(actor, objective.department)


def ensure_can_create(
    actor: Actor, level: ObjectiveLevel, owner_id: int, department: str | None
) -> None:
    if actor.role is Role.ADMIN:
        return
    if level is ObjectiveLevel.COMPANY:
        raise NotAllowed("only an admin can create company objectives")
    if actor.role is Role.MANAGER:
        if not _same_department(actor, department):
            raise NotAllowed("a manager can create objectives only in their own department")
        return
    if actor.role is Role.EMPLOYEE:
        if level is not ObjectiveLevel.INDIVIDUAL:
            raise NotAllowed("an employee can create only individual objectives")
        if owner_id != actor.user_id:
            raise NotAllowed("an employee can create objectives only for themselves")
        return
    raise NotAllowed(f"the {actor.role.value} role has no access to objectives")


def _same_department(actor: Actor, department: str | None) -> bool:
    return actor.department is not None and department == actor.department
