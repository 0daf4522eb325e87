"""The permission matrix for objectives, in one place.

| action                  | admin | manager                      | employee          |
|-------------------------|-------|------------------------------|-------------------|
| create company          | yes   | no                           | no                |
| create division / team  | yes   | in own department            | no                |
| create individual       | yes   | in own department            | owned by self     |
| view                    | all   | own department's, and own    | own only          |
| update                  | all   | own department's             | own only          |
| delete                  | all   | those they created           | own only          |
| move, restore           | yes   | no                           | no                |
| place in a department   | any   | own only                     | own only          |

Integration users (HR systems) have no access to objectives. An objective outside the caller's
view is reported as missing (404); an action the role may not take on a visible one is 403.
Every objective an operation touches is checked: a delete takes the subtree with it, so each
objective in it must be one the caller may delete.
The view, update and delete rules themselves live in okr_shared.objective_rules, which the
gateway's read model applies too; the view rule's SQL twin is repository.visible_to. This module
turns them into refusals with reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from okr_objectives.errors import NotAllowed, ObjectiveNotFound
from okr_objectives.models import Objective
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objectives import ObjectiveAction, ObjectiveLevel
from okr_shared.objective_rules import allowed_actions as allowed_on
from okr_shared.objective_rules import (
    has_objectives_role,
    may_delete,
    may_update,
    no_objectives_role,
    sees_objective,
)


def ensure_objectives_role(actor: Actor) -> None:
    if not has_objectives_role(actor):
        raise NotAllowed(no_objectives_role(actor))


def can_view(actor: Actor, objective: Objective) -> bool:
    return sees_objective(actor, objective.owner_id, objective.department)


def found(objective: Objective | None, objective_id: int) -> Objective:
    """The objective as the repository found it under the caller's view rule; missing and out
    of view read the same."""
    if objective is None:
        raise ObjectiveNotFound(objective_id)
    return objective


def ensure_can_create(
    actor: Actor, level: ObjectiveLevel, owner_id: int, department: str | None
) -> None:
    ensure_objectives_role(actor)
    if actor.role is Role.ADMIN:
        return
    if level is ObjectiveLevel.COMPANY:
        raise NotAllowed("only an admin can create company objectives")
    if actor.role is Role.MANAGER:
        if not _same_department(actor, department):
            raise NotAllowed("a manager can create objectives only in their own department")
        return
    if level is not ObjectiveLevel.INDIVIDUAL:
        raise NotAllowed("an employee can create only individual objectives")
    if owner_id != actor.user_id:
        raise NotAllowed("an employee can create objectives only for themselves")
    ensure_can_place(actor, department)


def ensure_can_place(actor: Actor, department: str | None) -> None:
    """Employees and managers keep objectives in their own department: placing one elsewhere
    would take it out of their manager's view and into another's."""
    if actor.role is Role.ADMIN or department == actor.department:
        return
    own = repr(actor.department) if actor.department else "none"
    raise NotAllowed(
        f"a {actor.role.value} can place objectives only in their own department ({own}), "
        f"not in {department!r}"
    )


def ensure_can_update(actor: Actor, objective: Objective) -> None:
    if may_update(actor, objective.owner_id, objective.department):
        return
    raise NotAllowed(
        "a manager can change only their department's objectives"
        if actor.role is Role.MANAGER
        else "an employee can change only their own objectives"
    )


def ensure_can_delete(actor: Actor, objective: Objective) -> None:
    if may_delete(actor, objective.owner_id, objective.created_by):
        return
    raise NotAllowed(
        "a manager can delete only objectives they created"
        if actor.role is Role.MANAGER
        else "an employee can delete only their own objectives"
    )


def ensure_can_delete_subtree(actor: Actor, root: Objective, below: list[Objective]) -> None:
    """A delete takes the live subtree with it: the caller must be allowed to delete each
    objective in it. The refusal names those the caller may see and counts the others."""
    ensure_can_delete(actor, root)
    refused = [o for o in below if not _passes(partial(ensure_can_delete, actor, o))]
    if not refused:
        return
    named = [str(o.id) for o in refused if can_view(actor, o)]
    hidden = len(refused) - len(named)
    parts = named[:MAX_NAMED] + ([f"{len(named) - MAX_NAMED} more"] if named[MAX_NAMED:] else [])
    parts += [f"{hidden} outside your view"] if hidden else []
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    raise NotAllowed(
        f"objective {root.id} has {len(refused)} objective(s) below it that you may not delete "
        f"({listed}); a delete takes the whole subtree: delete or move those first, "
        "or ask an admin"
    )


MAX_NAMED = 10  # ids in a refusal; the rest are counted


def ensure_admin(actor: Actor, action: str) -> None:
    if actor.role is not Role.ADMIN:
        raise NotAllowed(f"only an admin can {action} objectives")


def allowed_actions(actor: Actor, objective: Objective) -> list[ObjectiveAction]:
    return allowed_on(actor, objective.owner_id, objective.department, objective.created_by)


def creatable_levels(actor: Actor) -> list[ObjectiveLevel]:
    """The levels the caller may create objectives at, owned by themselves in their department
    (the default owner and department of a new objective)."""
    return [
        level
        for level in ObjectiveLevel
        if _passes(partial(ensure_can_create, actor, level, actor.user_id, actor.department))
    ]


def _passes(check: Callable[[], None]) -> bool:
    try:
        check()
    except NotAllowed:
        return False
    return True


def _same_department(actor: Actor, department: str | None) -> bool:
    return actor.department is not None and department == actor.department
