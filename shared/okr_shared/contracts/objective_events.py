"""What the objectives service publishes on the OBJECTIVES stream.

Every event carries the resulting state (with its version) of each objective or link it
touched, so a consumer applies an event only when it is newer than what it holds: reordering and
redelivery are harmless.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from okr_shared.contracts.common import Contract, Event
from okr_shared.contracts.objectives import CheckIn, ObjectiveLevel, ObjectiveStatus, Quarter


class ObjectiveState(Contract):
    """An objective as it is after the change: what rollup needs (its place in the tree and its
    own progress), who may see it (its owner and department: the gateway's live stream follows
    them), and the rest of what readers see (the gateway's read model answers from it)."""

    id: int
    parent_id: int | None
    level: ObjectiveLevel
    status: ObjectiveStatus
    manual_progress: float
    deleted: bool = False
    version: int
    # Added later, so optional: None in events published before (owner_id is never None, nor
    # are the fields below in events published since).
    owner_id: int | None = None
    department: str | None = None
    title: str | None = None
    description: str | None = None
    year: int | None = None
    quarter: Quarter | None = None
    start_date: date | None = None
    end_date: date | None = None
    # What readers see, and the version of the rollup it came from (0: none yet).
    progress_percentage: float | None = None
    progress_version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: int | None = None
    # The newest check-in (a check-in does not change the objective's version: its id orders
    # check-ins).
    last_check_in: CheckIn | None = None
    grade: float | None = None  # set while its period is closed: it is frozen
    grade_version: int = 0  # rises with each grading and ungrading (their events carry it)


class LinkState(Contract):
    objective_id: int
    kpi_id: int
    weight: float
    active: bool
    version: int


# --- examples for the AsyncAPI document (and anyone reading the schemas) -----------------
_STATE = {
    "id": 3,
    "parent_id": 1,
    "level": "team",
    "status": "active",
    "manual_progress": 0.0,
    "deleted": False,
    "version": 2,
    "owner_id": 7,
    "department": "Sales",
    "title": "Win the north-east",
    "description": "",
    "year": 2025,
    "quarter": "Q2",
    "start_date": "2025-04-01",
    "end_date": "2025-06-30",
    "progress_percentage": 42.5,
    "progress_version": 12,
    "created_at": "2025-03-30T09:12:00Z",
    "updated_at": "2025-03-31T17:00:00Z",
    "created_by": 7,
}
_CHECK_IN = {
    "id": 41,
    "objective_id": 3,
    "status": "at_risk",
    "confidence": 6,
    "note": "Two deals slipped to next quarter",
    "progress_percentage": 42.5,
    "author_id": 7,
    "at": "2025-05-12T08:30:00Z",
}
_LINK = {"objective_id": 3, "kpi_id": 12, "weight": 0.5, "active": True, "version": 1}


def _example(type_: str, **fields: Any) -> ConfigDict:
    envelope = {
        "event_id": "5c8e2a9d-1b7f-4c3e-a2d6-8f0e4b1c7a95",
        "occurred_at": "2025-03-31T17:00:00Z",
        "type": type_,
    }
    return ConfigDict(json_schema_extra={"examples": [{**envelope, **fields}]})


class ObjectiveCreated(Event):
    """An objective was created."""

    model_config = _example("objective.created", objective=_STATE)
    type: Literal["objective.created"] = "objective.created"
    objective: ObjectiveState


class ObjectiveUpdated(Event):
    """Fields of an objective changed: `changed` names them."""

    model_config = _example("objective.updated", objective=_STATE, changed=["status"])
    type: Literal["objective.updated"] = "objective.updated"
    objective: ObjectiveState
    changed: list[str]


class ObjectiveMoved(Event):
    """A new parent, perhaps with other changes (a PUT can carry both): `changed` names them."""

    model_config = _example(
        "objective.moved", objective=_STATE, previous_parent_id=2, changed=["parent_id"]
    )
    type: Literal["objective.moved"] = "objective.moved"
    objective: ObjectiveState
    previous_parent_id: int | None
    changed: list[str] = ["parent_id"]


class ObjectivesDeleted(Event):
    """An objective and its live subtree, soft-deleted together."""

    model_config = _example("objective.deleted", objectives=[{**_STATE, "deleted": True}])
    type: Literal["objective.deleted"] = "objective.deleted"
    objectives: list[ObjectiveState]


class ObjectivesRestored(Event):
    """An objective and the subtree deleted with it, back again."""

    model_config = _example("objective.restored", objectives=[_STATE])
    type: Literal["objective.restored"] = "objective.restored"
    objectives: list[ObjectiveState]


class ObjectiveKpiLinked(Event):
    """A link was made or its weight changed."""

    model_config = _example("objective.kpi_linked", link=_LINK)
    type: Literal["objective.kpi_linked"] = "objective.kpi_linked"
    link: LinkState


class ObjectiveKpiUnlinked(Event):
    """A KPI no longer counts in the objective's progress."""

    model_config = _example("objective.kpi_unlinked", link={**_LINK, "active": False})
    type: Literal["objective.kpi_unlinked"] = "objective.kpi_unlinked"
    link: LinkState


class ObjectiveCheckedIn(Event):
    """Someone who may update the objective said how it goes (its version does not change)."""

    model_config = _example("objective.checked_in", check_in=_CHECK_IN)
    type: Literal["objective.checked_in"] = "objective.checked_in"
    check_in: CheckIn


class GradedObjective(Contract):
    id: int
    progress_percentage: float = Field(description="frozen at this, until the period reopens")
    grade: float
    version: int = Field(description="the grade's version: the newest grading or reopening wins")


class ReopenedObjective(Contract):
    id: int
    version: int = Field(description="the grade's version: the newest grading or reopening wins")


class ObjectivesGraded(Event):
    """A period closed: these objectives of it are graded and frozen (one event per few
    thousand objectives)."""

    model_config = _example(
        "objective.graded",
        year=2025,
        quarter="Q2",
        objectives=[{"id": 3, "progress_percentage": 70.4, "grade": 0.7, "version": 1}],
    )
    type: Literal["objective.graded"] = "objective.graded"
    year: int
    quarter: Quarter | None
    objectives: list[GradedObjective]


class ObjectivesReopened(Event):
    """A period reopened: these objectives lose their grade, and their progress is recomputed."""

    model_config = _example(
        "objective.reopened", year=2025, quarter="Q2", objectives=[{"id": 3, "version": 2}]
    )
    type: Literal["objective.reopened"] = "objective.reopened"
    year: int
    quarter: Quarter | None
    objectives: list[ReopenedObjective]


ObjectiveEvent = Annotated[
    ObjectiveCreated
    | ObjectiveUpdated
    | ObjectiveMoved
    | ObjectivesDeleted
    | ObjectivesRestored
    | ObjectiveKpiLinked
    | ObjectiveKpiUnlinked
    | ObjectiveCheckedIn
    | ObjectivesGraded
    | ObjectivesReopened,
    Field(discriminator="type"),
]
