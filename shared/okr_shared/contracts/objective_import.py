"""`POST /api/v1/objectives/import`: many objectives, their tree and their KPI links, from CSV or
JSON rows, checked all at once and written in one transaction (or not at all).

A row is what `POST /api/v1/objectives` takes, with a `key` of the row's own (for other rows'
`parent`), the parent as another row's key or an existing objective's id, the owner by username,
and the links as `<kpi id>:<weight>` pairs separated by `;`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from okr_shared.contracts.common import Actor, Contract
from okr_shared.contracts.fields import Department, Description, Id, NoNul, Title
from okr_shared.contracts.objectives import (
    ObjectiveCreate,
    ObjectiveKPILinkCreate,
    ObjectiveLevel,
    ObjectiveStatus,
    Quarter,
    Year,
)
from okr_shared.errors import Invalid

MAX_ROWS = 10_000
MAX_LINKS_PER_ROW = 100
MAX_PROBLEMS = 1_000  # a report lists at most this many; `problems_total` counts them all

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
Username = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=50)]


def _as_text(value: Any) -> Any:
    """A JSON row may give an existing parent's id as a number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _kpi_pairs(value: Any) -> Any:
    """`12:0.5;14:1` (a CSV cell, or a JSON string) as links; a JSON list passes as it is."""
    if not isinstance(value, str):
        return value
    pairs = []
    for part in value.split(";"):
        if not part.strip():
            continue
        kpi_id, colon, weight = part.partition(":")
        if not colon:
            raise ValueError(f"{part.strip()!r}: write <kpi id>:<weight>, pairs separated by ';'")
        pairs.append({"kpi_id": kpi_id.strip(), "weight": weight.strip()})
    return pairs


class ObjectiveImportRow(BaseModel):
    """One objective to import. Empty CSV cells count as not given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key = Field(description="the row's own key, unique in the import (not stored)")
    title: Title
    description: Description = ""
    level: ObjectiveLevel
    year: Year
    quarter: Quarter | None = None
    parent: Annotated[Key | None, BeforeValidator(_as_text)] = Field(
        default=None, description="another row's key, else an existing objective's id"
    )
    owner: Username | None = Field(default=None, description="a username; default: you")
    department: Department | None = Field(default=None, description="defaults to the owner's")
    start_date: date | None = None
    end_date: date | None = None
    status: ObjectiveStatus = ObjectiveStatus.ACTIVE
    kpis: Annotated[
        list[ObjectiveKPILinkCreate],
        BeforeValidator(_kpi_pairs),
        Field(max_length=MAX_LINKS_PER_ROW, description="`<kpi id>:<weight>;...`"),
    ] = []


class ImportProblem(Contract):
    """Why one row (1 = the first after a CSV's header, or the JSON list's first) cannot be
    imported."""

    row: int
    key: str | None = None
    field: str | None = Field(default=None, description="the field to fix; none: the whole row")
    message: str


class ImportedObjective(Contract):
    key: str
    id: int


class ImportReport(Contract):
    """What an import wrote, or with `dry_run` would write."""

    dry_run: bool
    objectives: int = Field(description="objectives created (with dry_run: that would be)")
    links: int = Field(description="KPI links made (with dry_run: that would be)")
    created: list[ImportedObjective] = Field(
        default=[], description="each row's key and its new objective's id (none on a dry run)"
    )


def refusal(problems: list[ImportProblem], rows: int) -> Invalid:
    """Every problem found (the first MAX_PROBLEMS listed, by row), and that nothing was
    written: the gateway's checks and the service's end the same way."""
    listed = sorted(problems, key=lambda p: p.row)[:MAX_PROBLEMS]
    return Invalid(
        f"{len(problems)} problem(s) in {len({p.row for p in problems})} of {rows} rows; "
        "nothing was imported",
        details=[p.model_dump() for p in listed],
    )


# --- between the gateway and the objectives service -----------------------------------------


class ImportItem(Contract):
    """A row the gateway has checked: its owner resolved (default: the caller), its KPIs seen
    to exist; the hierarchy and the permissions are the service's to check."""

    row: int
    key: str
    data: ObjectiveCreate  # parent_id unset: `parent_key` or `parent_id` says where it goes
    parent_key: str | None = None
    parent_id: Id | None = None
    owner_department: str | None = None
    links: list[ObjectiveKPILinkCreate] = []


class ImportObjectives(Contract):
    """The rows are a parcel (okr_shared.parcels): a JSON list of ImportItem."""

    actor: Actor
    parcel: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] = Field(
        examples=["6f1c1c1e2b1a4b8e9a510d3e0b7a2c11"]
    )
    dry_run: bool = False
