"""What the objectives service publishes on the OBJECTIVES stream.

Every event carries the resulting state (with its version) of each objective or link it
touched, so a consumer applies an event only when it is newer than what it holds: reordering and
redelivery are harmless.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from okr_shared.contracts.common import Contract, Event
from okr_shared.contracts.objectives import ObjectiveLevel, ObjectiveStatus


class ObjectiveState(Contract):
    """What rollup needs of an objective: its place in the tree and its own progress."""

    id: int
    parent_id: int | None
    level: ObjectiveLevel
    status: ObjectiveStatus
    manual_progress: float
    deleted: bool = False
    version: int


class LinkState(Contract):
    objective_id: int
    kpi_id: int
    weight: float
    active: bool
    version: int


class ObjectiveCreated(Event):
    type: Literal["objective.created"] = "objective.created"
    objective: ObjectiveState


class ObjectiveUpdated(Event):
    type: Literal["objective.updated"] = "objective.updated"
    objective: ObjectiveState
    changed: list[str]


class ObjectiveMoved(Event):
    """A new parent, perhaps with other changes (a PUT can carry both): `changed` names them."""

    type: Literal["objective.moved"] = "objective.moved"
    objective: ObjectiveState
    previous_parent_id: int | None
    changed: list[str] = ["parent_id"]


class ObjectivesDeleted(Event):
    """An objective and its live subtree, soft-deleted together."""

    type: Literal["objective.deleted"] = "objective.deleted"
    objectives: list[ObjectiveState]


class ObjectivesRestored(Event):
    type: Literal["objective.restored"] = "objective.restored"
    objectives: list[ObjectiveState]


class ObjectiveKpiLinked(Event):
    """A link was made or its weight changed."""

    type: Literal["objective.kpi_linked"] = "objective.kpi_linked"
    link: LinkState


class ObjectiveKpiUnlinked(Event):
    type: Literal["objective.kpi_unlinked"] = "objective.kpi_unlinked"
    link: LinkState


ObjectiveEvent = Annotated[
    ObjectiveCreated
    | ObjectiveUpdated
    | ObjectiveMoved
    | ObjectivesDeleted
    | ObjectivesRestored
    | ObjectiveKpiLinked
    | ObjectiveKpiUnlinked,
    Field(discriminator="type"),
]
