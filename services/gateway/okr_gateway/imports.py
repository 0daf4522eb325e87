"""An import's rows as the gateway reads them (CSV or JSON), checked for what the gateway
knows: each row's fields, unique keys, parents that name a row or an objective id, owners by
username, KPIs that exist. The objectives service checks the rest (permissions, the hierarchy)
and writes it; a problem anywhere refuses the whole import with every problem listed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import repository
from okr_gateway.errors import UnsupportedMediaType
from okr_gateway.models import User
from okr_shared.contracts.common import Actor
from okr_shared.contracts.fields import BIGINT_MAX
from okr_shared.contracts.kpi_rpc import Writability, WritableKpis, WriteRefusal
from okr_shared.contracts.objective_import import (
    MAX_ROWS,
    ImportItem,
    ImportProblem,
    ObjectiveImportRow,
    refusal,
)
from okr_shared.contracts.objectives import ObjectiveCreate
from okr_shared.errors import Invalid

CSV = "text/csv"
JSON = "application/json"
COLUMNS = tuple(ObjectiveImportRow.model_fields)
KPIS_PER_QUESTION = 5_000  # WritableKpis takes this many at most


def read_rows(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The rows as given, before any check of their fields."""
    media = content_type.partition(";")[0].strip().lower()
    if media == CSV:
        rows = _csv_rows(body)
    elif media == JSON:
        rows = _json_rows(body)
    else:
        raise UnsupportedMediaType(
            f"send the rows as {CSV} (a header row, then one objective a line) or as {JSON} "
            f"(a list of objects), with that Content-Type; got {media or 'none'}"
        )
    if not rows:
        raise Invalid("the import has no rows")
    if len(rows) > MAX_ROWS:
        raise Invalid(
            f"{len(rows):,} rows: an import takes at most {MAX_ROWS:,}; split it (a later "
            "import may name an earlier one's objectives by id in `parent`)"
        )
    return rows


def _csv_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")  # a spreadsheet's export may start with a BOM
    except UnicodeDecodeError as err:
        raise Invalid(f"the CSV is not UTF-8 text (byte {err.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or not header:
        raise Invalid(
            f"unknown column(s) {', '.join(repr(n) for n in unknown) or '(no header)'}; "
            f"the header row names some of: {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    try:
        # Empty cells are fields not given; cells beyond the header land under None.
        return [{k: v for k, v in row.items() if v not in ("", None)} for row in reader]
    except csv.Error as err:
        raise Invalid(f"the CSV cannot be read at line {reader.line_num}: {err}") from None


def _json_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        rows = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid("the body is not JSON") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise Invalid("send a JSON list of objects, one an objective")
    return rows


async def checked_items(
    raw: list[dict[str, Any]],
    caller: User,
    actor: Actor,
    db: AsyncSession,
    missing_kpis: Callable[[WritableKpis], Any],
) -> list[ImportItem]:
    """The rows as the objectives service takes them, or Invalid with every problem found.
    `missing_kpis` asks the KPIs service (WRITABLE) which of them the caller cannot see."""
    problems: list[ImportProblem] = []
    rows: dict[int, ObjectiveImportRow] = {}
    for number, given in enumerate(raw, 1):
        if None in given:
            problems.append(ImportProblem(row=number, message="more cells than the header"))
            continue
        try:
            rows[number] = ObjectiveImportRow.model_validate(given)
        except ValidationError as err:
            key = given.get("key")
            problems += [_problem(number, key, e) for e in err.errors()]

    keys: dict[str, int] = {}
    for number, row in rows.items():
        if row.key in keys:
            problems.append(
                ImportProblem(
                    row=number,
                    key=row.key,
                    field="key",
                    message=f"row {keys[row.key]} has this key too; keys are unique",
                )
            )
        keys.setdefault(row.key, number)

    usernames = sorted({row.owner for row in rows.values() if row.owner})
    owners = await repository.active_users_by_username(db, usernames) if usernames else {}
    refused = await _missing(
        {link.kpi_id for row in rows.values() for link in row.kpis}, actor, missing_kpis
    )

    items: list[ImportItem] = []
    for number, row in rows.items():
        found = _item(number, row, caller, owners, keys, refused)
        if isinstance(found, ImportItem):
            items.append(found)
        else:
            problems += found
    if problems:
        raise refusal(problems, len(raw))
    return items


def _item(
    number: int,
    row: ObjectiveImportRow,
    caller: User,
    owners: dict[str, User],
    keys: dict[str, int],
    missing: set[int],
) -> ImportItem | list[ImportProblem]:
    problems: list[ImportProblem] = []

    def problem(field: str | None, message: str) -> None:
        problems.append(ImportProblem(row=number, key=row.key, field=field, message=message))

    owner = caller if row.owner is None else owners.get(row.owner)
    if owner is None:
        problem("owner", f"{row.owner}: no such active user")
    parent_key, parent_id = _parent(row, keys, problem)
    linked = [link.kpi_id for link in row.kpis]
    for kpi_id in sorted({k for k in linked if linked.count(k) > 1}):
        problem("kpis", f"KPI {kpi_id} is linked twice")
    for kpi_id in sorted(set(linked) & missing):
        problem("kpis", f"KPI {kpi_id}: no such KPI")
    try:
        data = ObjectiveCreate(
            **row.model_dump(
                include={
                    "title",
                    "description",
                    "level",
                    "year",
                    "quarter",
                    "department",
                    "start_date",
                    "end_date",
                    "status",
                }
            ),
            owner_id=owner.id if owner else caller.id,
        )
    except ValidationError as err:
        problems += [_problem(number, row.key, e) for e in err.errors()]
    if problems:
        return problems
    return ImportItem(
        row=number,
        key=row.key,
        data=data,
        parent_key=parent_key,
        parent_id=parent_id,
        owner_department=owner.department if owner else None,
        links=row.kpis,
    )


def _parent(
    row: ObjectiveImportRow, keys: dict[str, int], problem: Callable[[str, str], None]
) -> tuple[str | None, int | None]:
    """Another row's key first, else an existing objective's id."""
    if row.parent is None:
        return None, None
    if row.parent == row.key:
        problem("parent", "a row cannot be its own parent")
    elif row.parent in keys:
        return row.parent, None
    elif row.parent.isdecimal() and 0 < int(row.parent) <= BIGINT_MAX:
        return None, int(row.parent)
    else:
        problem("parent", f"{row.parent}: no row has that key (nor is it an objective's id)")
    return None, None


async def _missing(
    kpi_ids: Iterable[int], actor: Actor, ask: Callable[[WritableKpis], Any]
) -> set[int]:
    """Which of these KPIs the caller cannot see (or do not exist)."""
    wanted = sorted(kpi_ids)
    missing: set[int] = set()
    for start in range(0, len(wanted), KPIS_PER_QUESTION):
        question = WritableKpis(actor=actor, kpi_ids=wanted[start : start + KPIS_PER_QUESTION])
        answer: Writability = await ask(question)
        missing.update(k for k, why in answer.refused.items() if why is WriteRefusal.MISSING)
    return missing


def _problem(row: int, key: object, error: Any) -> ImportProblem:
    field = str(error["loc"][0]) if error.get("loc") else None
    message = str(error["msg"]).removeprefix("Value error, ")
    return ImportProblem(
        row=row, key=key if isinstance(key, str) else None, field=field, message=message
    )
