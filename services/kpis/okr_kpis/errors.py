"""The KPIs service's errors: domain names over the shared, transportable classes."""

from okr_shared.errors import Conflict, Forbidden, NotFound


class KpiNotFound(NotFound):
    def __init__(self, kpi_id: int) -> None:
        super().__init__(f"KPI {kpi_id} not found")


class NotAllowed(Forbidden):
    """The caller's role may never do this (a 403, unlike an out-of-view KPI's 404)."""


class StaleVersion(Conflict):
    def __init__(self, kpi_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"KPI {kpi_id} has changed: you sent version {expected}, it is now at version "
            f"{current}; read it again and reapply your change",
            details=[{"current_version": current}],
        )
