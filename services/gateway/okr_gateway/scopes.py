"""What an API key may be granted, and which roles may grant which.

A person's token acts with all of its role's rights; the services' permission matrices decide
what the role may do. An API key acts as its owner (same role, same department), narrowed to its
scopes: a route that needs a scope the key lacks answers 403 before the services are asked. A key
may hold only scopes its owner's role can use, checked when it is made and again on every
request, so a demoted owner's keys shrink with them.
"""

from __future__ import annotations

from enum import StrEnum

from okr_shared.contracts.common import Role


class Scope(StrEnum):
    OBJECTIVES_READ = "objectives:read"
    OBJECTIVES_WRITE = "objectives:write"
    KPIS_READ = "kpis:read"
    # Creating, changing and archiving KPI definitions: a job that only sends values should
    # not be able to redefine what they are measured against.
    KPIS_WRITE = "kpis:write"
    VALUES_WRITE = "values:write"
    WEBHOOKS_MANAGE = "webhooks:manage"


DESCRIPTIONS = {
    Scope.OBJECTIVES_READ: "read objectives, their trees, KPI links, history and progress",
    Scope.OBJECTIVES_WRITE: "create, change, delete, move and link objectives",
    Scope.KPIS_READ: "read KPIs and their value history",
    Scope.KPIS_WRITE: "create, change and archive KPIs",
    Scope.VALUES_WRITE: "record KPI values",
    Scope.WEBHOOKS_MANAGE: "register and manage webhooks (admins only)",
}

_PEOPLE = frozenset(
    {
        Scope.OBJECTIVES_READ,
        Scope.OBJECTIVES_WRITE,
        Scope.KPIS_READ,
        Scope.KPIS_WRITE,
        Scope.VALUES_WRITE,
    }
)
# The integration role has no access to objectives and may not define KPIs (the services'
# matrices): its keys read KPIs and send values, nothing more.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.MANAGER: _PEOPLE,
    Role.EMPLOYEE: _PEOPLE,
    Role.INTEGRATION: frozenset({Scope.KPIS_READ, Scope.VALUES_WRITE}),
}


def role_scopes(role: str) -> frozenset[Scope]:
    return ROLE_SCOPES.get(Role(role), frozenset())
