"""Who may see an objective: the view rule of the objectives permission matrix, on the two
facts it depends on (the objective's owner and department), so that the objectives service
and the gateway's live stream, which reads those facts from the objective events, apply the
same rule. Its SQL twin is okr_objectives.repository.visible_to.

| role        | sees                                        |
|-------------|---------------------------------------------|
| admin       | every objective                             |
| manager     | their own, and their department's           |
| employee    | their own                                   |
| integration | none                                        |
"""

from __future__ import annotations

from okr_shared.contracts.common import Actor, Role


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
