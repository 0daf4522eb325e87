"""`GET /api/v1/objectives/export`: what the caller may see of a year or quarter, as CSV or
JSON, with progress, pace, grade and the latest check-in: the spreadsheet an OKR review ends
in. The objectives service selects the rows (its view rule); the gateway names the owners."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from okr_gateway import service
from okr_gateway.deps import ObjectivesRead, ReaderDep, ServicesDep, actor
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.objectives import ObjectiveReportRow, Quarter

PATH = "/api/v1/objectives/export"
COLUMNS = (
    "id",
    "title",
    "level",
    "year",
    "quarter",
    "parent_id",
    "owner",
    "owner_name",
    "department",
    "start_date",
    "end_date",
    "status",
    "progress_percentage",
    "expected_progress",
    "health",
    "grade",
    "last_check_in_status",
    "last_check_in_confidence",
    "last_check_in_note",
    "last_check_in_at",
    "last_check_in_author_id",
    "kpis",
)
# A cell a spreadsheet would read as a formula (CSV injection): written with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


router = APIRouter(tags=["objectives"])


@router.get(
    PATH,
    summary="Export what you may see, with progress, health, grade and the latest check-in",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {}},
            "description": f"a header row of {', '.join(COLUMNS)}, then a row per objective "
            "(or the same as a JSON list of objects)",
        }
    },
)
async def export_objectives(
    user: ObjectivesRead,
    db: ReaderDep,
    rpc_: ServicesDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    quarter: Quarter | None = None,
    format: Annotated[ExportFormat, Query(description="csv (default) or json")] = (
        ExportFormat.CSV
    ),
) -> Response:
    request = rpc.ReportObjectives(actor=actor(user), year=year, quarter=quarter)
    found = await rpc_.ask(rpc.REPORT, request)
    owners = await service.users_by_id(db, [o.owner_id for o in found])
    rows = [_row(o, owners) for o in found]
    name = "-".join(["objectives", *([str(year)] if year else []), *([quarter] if quarter else [])])
    if format is ExportFormat.JSON:
        body, media = json.dumps(rows, default=str).encode(), "application/json"
    else:
        body, media = _csv(rows).encode(), "text/csv; charset=utf-8"
    disposition = f'attachment; filename="{name}.{format.value}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


def _row(objective: ObjectiveReportRow, owners: dict[int, Any]) -> dict[str, Any]:
    owner = owners.get(objective.owner_id)
    check_in = objective.last_check_in
    return {
        "id": objective.id,
        "title": objective.title,
        "level": objective.level.value,
        "year": objective.year,
        "quarter": objective.quarter.value if objective.quarter else None,
        "parent_id": objective.parent_id,
        "owner": owner.username if owner else None,
        "owner_name": service.display_name(owner),
        "department": objective.department,
        "start_date": objective.start_date.isoformat(),
        "end_date": objective.end_date.isoformat(),
        "status": objective.status.value,
        "progress_percentage": objective.progress_percentage,
        "expected_progress": objective.expected_progress,
        "health": objective.health.value,
        "grade": objective.grade,
        "last_check_in_status": check_in.status.value if check_in else None,
        "last_check_in_confidence": check_in.confidence if check_in else None,
        "last_check_in_note": check_in.note if check_in else None,
        "last_check_in_at": check_in.at.isoformat() if check_in else None,
        "last_check_in_author_id": check_in.author_id if check_in else None,
        # The import's notation: `<kpi id>:<weight>` pairs separated by `;`.
        "kpis": ";".join(f"{k.kpi_id}:{k.weight:g}" for k in objective.kpis),
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
