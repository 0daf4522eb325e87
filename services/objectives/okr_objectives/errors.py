"""The objectives service's errors: domain names over the shared, transportable classes."""

from okr_shared.errors import Forbidden, Invalid, NotFound


class ObjectiveNotFound(NotFound):
    def __init__(self, objective_id: int) -> None:
        super().__init__(f"objective {objective_id} not found")


class NotAllowed(Forbidden):
    """The caller's role may never do this (a 403, unlike an out-of-view object's 404)."""


class InvalidHierarchy(Invalid):
    """The parent is missing, out of view, or at a level that cannot hold this child."""
