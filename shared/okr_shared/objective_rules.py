"""Who may see and do what with an objective: the rules of the objectives permission matrix on
the facts they depend on (owner, department, creator), so that the objectives service, which
enforces them, and the gateway, which answers reads from its read model and shows the allowed
actions, apply the same rules. The view rule's SQL twin is okr_objectives.repository.visible_to.

| action                  | admin | manager                      | employee          |
|-------------------------|-------|------------------------------|-------------------|
| view                    | all   | own department's, and own    | own only          |
| update, link KPIs       | all   | own department's             | own only          |
| delete                  | all   | those they created           | own only          |
| move, restore           | yes   | no                           | no                |

Integration users (HR systems) have no access to objectives.
"""

from __future__ import annotations

from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objectives import ObjectiveAction

OBJECTIVE_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.EMPLOYEE})


def has_objectives_role(actor: Actor) -> bool:
    return actor.role in OBJECTIVE_ROLES


def no_objectives_role(actor: Actor) -> str:
    """Why a caller without an objectives role is refused (403)."""
    return f"the {actor.role.value} role has no access to objectives"


def not_found(objective_id: int) -> str:
    """Missing and out of view read the same (404)."""
    return f"objective {objective_id} not found"


def sees_objective(actor: Actor, owner_id: int, department: str | None) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if owner_id == actor.user_id:
        return actor.role in (Role.MANAGER, Role.EMPLOYEE)
    return (
        actor.role is Role.MANAGER
        and actor.department is not None
        and department == actor.department
    )


def may_update(actor: Actor, owner_id: int, department: str | None) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.MANAGER:
        return actor.department is not None and department == actor.department
    return actor.role is Role.EMPLOYEE and owner_id == actor.user_id


def may_delete(actor: Actor, owner_id: int, created_by: int) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.MANAGER:
        return created_by == actor.user_id
    return actor.role is Role.EMPLOYEE and owner_id == actor.user_id


def allowed_actions(
    actor: Actor, owner_id: int, department: str | None, created_by: int
) -> list[ObjectiveAction]:
    """What the caller may do with an objective they see, asked in advance, so that a client
    offers only what would be accepted."""
    updates = may_update(actor, owner_id, department)
    allowed = {
        ObjectiveAction.UPDATE: updates,
        ObjectiveAction.DELETE: may_delete(actor, owner_id, created_by),
        ObjectiveAction.MOVE: actor.role is Role.ADMIN,
        ObjectiveAction.LINK: updates,  # linking is an update
    }
    return [action for action, yes in allowed.items() if yes]
