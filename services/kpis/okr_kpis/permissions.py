"""Who may do what with KPIs, following the objectives matrix.

| action        | admin | manager                    | employee      | integration |
|---------------|-------|----------------------------|---------------|-------------|
| view          | all   | own department's, and own  | own only      | all         |
| create        | yes   | in own department          | owned by self | no          |
| update/archive| all   | own department's           | own only      | no          |
| write values  | all   | own department's           | own only      | all         |
| place in a department | any | own only               | own only      | no          |

A KPI outside the caller's view is reported as missing (404).
"""

from __future__ import annotations

from okr_kpis.errors import KpiNotFound, NotAllowed
from okr_kpis.models import Kpi
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.kpis import KpiAction


def found(kpi: Kpi | None, kpi_id: int) -> Kpi:
    """The KPI as the repository found it under the caller's view rule (`visible_to`, in its
    read statements); missing and out of view read the same."""
    if kpi is None:
        raise KpiNotFound(kpi_id)
    return kpi


def can_manage(actor: Actor, kpi: Kpi) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.MANAGER:
        return _same_department(actor, kpi.department)
    return actor.role is Role.EMPLOYEE and kpi.owner_id == actor.user_id


def can_write_values(actor: Actor, kpi: Kpi) -> bool:
    return actor.role is Role.INTEGRATION or can_manage(actor, kpi)


def allowed_actions(actor: Actor, kpi: Kpi) -> list[KpiAction]:
    """What the caller may do with a visible KPI, so that a client offers only that."""
    checks = {KpiAction.UPDATE: can_manage, KpiAction.WRITE_VALUES: can_write_values}
    return [action for action, allowed in checks.items() if allowed(actor, kpi)]


def ensure_can_manage(actor: Actor, kpi: Kpi) -> None:
    if not can_manage(actor, kpi):
        raise NotAllowed(f"the {actor.role.value} role may not change KPI {kpi.id}")


def ensure_can_create(actor: Actor, owner_id: int, department: str | None) -> None:
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.MANAGER and _same_department(actor, department):
        return
    if actor.role is Role.EMPLOYEE and owner_id == actor.user_id:
        ensure_can_place(actor, department)
        return
    raise NotAllowed(
        {
            Role.MANAGER: "a manager can create KPIs only in their own department",
            Role.EMPLOYEE: "an employee can create KPIs only for themselves",
        }.get(actor.role, f"the {actor.role.value} role cannot create KPIs")
    )


def ensure_can_place(actor: Actor, department: str | None) -> None:
    """Employees and managers keep KPIs in their own department: placing one elsewhere would
    take it out of their manager's view and into another's."""
    if actor.role is Role.ADMIN or department == actor.department:
        return
    own = repr(actor.department) if actor.department else "none"
    raise NotAllowed(
        f"a {actor.role.value} can place KPIs only in their own department ({own}), "
        f"not in {department!r}"
    )


def _same_department(actor: Actor, department: str | None) -> bool:
    return actor.department is not None and department == actor.department
