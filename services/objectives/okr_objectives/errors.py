"""The objectives service's errors: domain names over the shared, transportable classes."""

from okr_shared.errors import Conflict, Forbidden, Invalid, NotFound
from okr_shared.objective_rules import not_found


class ObjectiveNotFound(NotFound):
    def __init__(self, objective_id: int) -> None:
        super().__init__(not_found(objective_id))


class NotAllowed(Forbidden):
    """The caller's role may never do this (a 403, unlike an out-of-view object's 404)."""


class InvalidHierarchy(Invalid):
    """The parent is missing, out of view, at a level that cannot hold this child, or below
    the objective itself."""


class StaleVersion(Conflict):
    def __init__(self, objective_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"objective {objective_id} has changed: you sent version {expected}, it is now at "
            f"version {current}; read it again and reapply your change",
            details=[{"current_version": current}],
        )


class ProgressDriven(Invalid):
    def __init__(self, objective_id: int) -> None:
        # Not which: the children that drive it may be outside the caller's view.
        super().__init__(
            f"the progress of objective {objective_id} is computed from its children or KPIs; "
            "set progress_percentage only on an objective that has neither"
        )
