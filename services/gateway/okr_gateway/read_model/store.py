"""The objectives as the events describe them: records, the parent -> children index and the
active KPI links, with the version checks that make any order of arrival converge.

Every event carries the state (and version) of what it touched, and every rollup its own
version, so `apply` keeps the newest of each whatever the order: the objective event stream,
the progress stream, a snapshot and a write's own events can interleave freely. A record keeps
the progress of the newest rollup it has seen, as the objectives service's row does
(`apply_rollups`: a rollup applies when its version is above `progress_version`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import TypeAdapter

from okr_shared import pace
from okr_shared.contracts.objective_events import (
    LinkState,
    ObjectiveCheckedIn,
    ObjectiveCreated,
    ObjectiveEvent,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectivesGraded,
    ObjectivesReopened,
    ObjectivesRestored,
    ObjectiveState,
    ObjectiveUpdated,
)
from okr_shared.contracts.objectives import (
    CheckIn,
    ObjectiveLevel,
    ObjectiveResponse,
    ObjectiveStatus,
    Quarter,
)

EARLY_ROLLUPS_KEPT = 10_000  # rollups of objectives not known yet (their event is on its way)
_response = TypeAdapter(ObjectiveResponse)


class Incomplete(ValueError):
    """An event from before events carried every field a reader sees: only a snapshot can
    describe that objective."""


@dataclass(slots=True, eq=False)
class Record:
    """One objective, deleted ones too (their place in the tree still matters to ancestors)."""

    id: int
    parent_id: int | None
    level: ObjectiveLevel
    status: ObjectiveStatus
    owner_id: int
    department: str | None
    created_by: int
    title: str
    description: str
    year: int
    quarter: Quarter | None
    start_date: date
    end_date: date
    created_at: datetime
    updated_at: datetime
    version: int
    progress: float
    progress_version: int
    deleted: bool
    last_check_in: CheckIn | None
    grade: float | None  # while set, frozen: its progress stays as graded
    grade_version: int
    _body: bytes | None = None  # the ObjectiveResponse JSON, made on first read
    _head: str | None = None  # the tree node's JSON without its closing brace

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = _response.dump_json(
                ObjectiveResponse.model_construct(
                    id=self.id,
                    title=self.title,
                    description=self.description,
                    parent_id=self.parent_id,
                    level=self.level,
                    owner_id=self.owner_id,
                    department=self.department,
                    year=self.year,
                    quarter=self.quarter,
                    start_date=self.start_date,
                    end_date=self.end_date,
                    status=self.status,
                    progress_percentage=self.progress,
                    created_at=self.created_at,
                    updated_at=self.updated_at,
                    created_by=self.created_by,
                    version=self.version,
                    last_check_in=self.last_check_in,
                    grade=self.grade,
                ),
                warnings=False,
            )
        return self._body

    @property
    def head(self) -> str:
        """The node of the tree view (ObjectiveTreeNode) without its children and closing brace
        (okr_shared.tree_json)."""
        if self._head is None:
            on = pace.today()
            self._head = json.dumps(
                {
                    "id": self.id,
                    "title": self.title,
                    "level": self.level,
                    "status": self.status,
                    "parent_id": self.parent_id,
                    "owner_id": self.owner_id,
                    "department": self.department,
                    "year": self.year,
                    "quarter": self.quarter,
                    "start_date": self.start_date.isoformat(),
                    "end_date": self.end_date.isoformat(),
                    "progress_percentage": self.progress,
                    "expected_progress": pace.expected_progress(self.start_date, self.end_date, on),
                    "health": pace.current().health(
                        self.status, self.progress, self.start_date, self.end_date, on
                    ),
                    "last_check_in": (
                        self.last_check_in.model_dump(mode="json") if self.last_check_in else None
                    ),
                    "grade": self.grade,
                },
                separators=(",", ":"),  # a 111,111-node tree is 2.7 MB smaller without spaces
            )[:-1]
        return self._head

    def set_progress(self, progress: float, version: int) -> None:
        self.progress, self.progress_version = progress, version
        self.forget_json()

    def forget_json(self) -> None:
        """What was rendered is stale: the record changed, or the day did (its pace)."""
        self._body = self._head = None


def record_of(state: ObjectiveState) -> Record:
    owner, title, year, start, end = (
        state.owner_id,
        state.title,
        state.year,
        state.start_date,
        state.end_date,
    )
    created_at, updated_at, created_by = state.created_at, state.updated_at, state.created_by
    if (
        owner is None
        or title is None
        or year is None
        or start is None
        or end is None
        or created_at is None
        or updated_at is None
        or created_by is None
    ):
        raise Incomplete(f"the event about objective {state.id} lacks fields readers see")
    return Record(
        id=state.id,
        parent_id=state.parent_id,
        level=state.level,
        status=state.status,
        owner_id=owner,
        department=state.department,
        created_by=created_by,
        title=title,
        description=state.description or "",
        year=year,
        quarter=state.quarter,
        start_date=start,
        end_date=end,
        created_at=created_at,
        updated_at=updated_at,
        version=state.version,
        progress=state.progress_percentage or 0.0,
        progress_version=state.progress_version or 0,
        deleted=state.deleted,
        last_check_in=state.last_check_in,
        grade=state.grade,
        grade_version=state.grade_version,
    )


class ObjectiveStore:
    def __init__(self) -> None:
        self.records: dict[int, Record] = {}
        self.children: dict[int, set[int]] = {}  # parent id -> ids of children, deleted too
        self.links: dict[tuple[int, int], tuple[int, bool]] = {}  # -> (version, active)
        self.active_links: dict[int, int] = {}  # objective id -> active KPI links
        self._early: dict[int, tuple[float, int]] = {}
        self._day = pace.today()

    def today(self) -> None:
        """Once a day every rendered JSON goes stale: pace is a function of the date. Asked
        before each read (one clock reading)."""
        day = pace.today()
        if day != self._day:
            self._day = day
            for record in self.records.values():
                record.forget_json()

    def __len__(self) -> int:
        return len(self.records)

    def apply(self, event: ObjectiveEvent) -> None:
        if isinstance(event, ObjectiveCreated | ObjectiveUpdated | ObjectiveMoved):
            self.apply_state(event.objective)
        elif isinstance(event, ObjectivesDeleted | ObjectivesRestored):
            for state in event.objectives:
                self.apply_state(state)
        elif isinstance(event, ObjectiveKpiLinked | ObjectiveKpiUnlinked):
            self.apply_link(event.link)
        elif isinstance(event, ObjectiveCheckedIn):
            self.apply_check_in(event.check_in)
        elif isinstance(event, ObjectivesGraded):
            for graded in event.objectives:
                record = self.records.get(graded.id)
                if record is not None and record.grade_version < graded.version:
                    record.grade, record.progress = graded.grade, graded.progress_percentage
                    record.grade_version = graded.version
                    record.forget_json()
        elif isinstance(event, ObjectivesReopened):
            for reopened in event.objectives:
                record = self.records.get(reopened.id)
                if record is not None and record.grade_version < reopened.version:
                    record.grade = None  # the progress service's next rollup moves it again
                    record.grade_version = reopened.version
                    record.forget_json()

    def apply_check_in(self, check_in: CheckIn) -> None:
        """Check-ins leave the objective's version alone: their ids order them."""
        record = self.records.get(check_in.objective_id)
        if record is not None and _newer(check_in, record.last_check_in):
            record.last_check_in = check_in
            record.forget_json()

    def apply_state(self, state: ObjectiveState) -> None:
        held = self.records.get(state.id)
        if held is not None and held.version >= state.version:
            return
        record = record_of(state)
        early = self._early.pop(state.id, None)
        newest = max(
            (
                (record.progress_version, record.progress),
                (held.progress_version, held.progress) if held else (-1, 0.0),
                (early[1], early[0]) if early else (-1, 0.0),
            ),
            key=lambda pair: pair[0],
        )
        record.progress_version, record.progress = newest
        if held is not None and not _newer(record.last_check_in, held.last_check_in):
            record.last_check_in = held.last_check_in  # the state was taken before it
        if held is not None and held.parent_id != record.parent_id:
            self._unparent(held)
        if record.parent_id is not None:
            self.children.setdefault(record.parent_id, set()).add(record.id)
        self.records[record.id] = record

    def apply_link(self, link: LinkState) -> None:
        key = (link.objective_id, link.kpi_id)
        version, active = self.links.get(key, (0, False))
        if version >= link.version:
            return
        self.links[key] = (link.version, link.active)
        if active != link.active:
            count = self.active_links.get(link.objective_id, 0) + (1 if link.active else -1)
            self.active_links[link.objective_id] = count

    def apply_progress(self, objective_id: int, progress: float, version: int) -> None:
        record = self.records.get(objective_id)
        if record is None:
            known = self._early.get(objective_id)
            if known is None or known[1] < version:
                if len(self._early) >= EARLY_ROLLUPS_KEPT:
                    self._early.pop(next(iter(self._early)))
                self._early[objective_id] = (progress, version)
            return
        if version > record.progress_version and record.grade is None:
            record.set_progress(progress, version)

    def _unparent(self, record: Record) -> None:
        if record.parent_id is None:
            return
        siblings = self.children.get(record.parent_id)
        if siblings is not None:
            siblings.discard(record.id)
            if not siblings:
                del self.children[record.parent_id]


def _newer(check_in: CheckIn | None, than: CheckIn | None) -> bool:
    return check_in is not None and (than is None or check_in.id > than.id)
