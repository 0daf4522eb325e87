"""`POST /api/v1/objectives/import`: objectives, their tree and their KPI links from CSV or
JSON, all checked first and written in one transaction (okr_gateway.imports reads and checks
what the gateway knows; the objectives service the rest)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from okr_gateway import imports
from okr_gateway.deps import ObjectivesWrite, ReaderDep, ReadModelDep, ServicesDep, actor
from okr_shared.contracts import kpi_rpc
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.kpi_rpc import WritableKpis
from okr_shared.contracts.objective_import import (
    MAX_ROWS,
    ImportItem,
    ImportObjectives,
    ImportReport,
    ObjectiveImportRow,
)

PATH = "/api/v1/objectives/import"
_items = TypeAdapter(list[ImportItem])
_rows_schema = TypeAdapter(list[ObjectiveImportRow]).json_schema(
    ref_template="#/components/schemas/{model}"
)

router = APIRouter(tags=["objectives"])


@router.post(
    PATH,
    status_code=201,
    response_model=ImportReport,
    summary=f"Import up to {MAX_ROWS:,} objectives with their tree and KPI links (CSV or JSON)",
    responses={200: {"model": ImportReport, "description": "dry_run: what would be written"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                imports.CSV: {"schema": {"type": "string", "description": "a header row"}},
                imports.JSON: {"schema": {"type": "array", "items": _rows_schema["items"]}},
            },
        }
    },
)
async def import_objectives(
    request: Request,
    user: ObjectivesWrite,
    db: ReaderDep,
    rpc_: ServicesDep,
    model: ReadModelDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="check everything, write nothing")] = False,
) -> ImportReport:
    """Every row is checked as `POST /api/v1/objectives` would check it, with its parent (another
    row's `key`, else an objective's id), owner (a username) and KPI links; one problem anywhere
    refuses the whole import (422, every problem listed by row), so a fixed file can simply be
    sent again. Counts as one write against the rate limit."""
    raw = imports.read_rows(request.headers.get("content-type", ""), await request.body())
    caller = actor(user)

    async def missing_kpis(question: WritableKpis) -> kpi_rpc.Writability:
        return await rpc_.ask(kpi_rpc.WRITABLE, question)

    items = await imports.checked_items(raw, user, caller, db, missing_kpis)
    report = model.written(
        await rpc_.ask_with_parcel(
            rpc.IMPORT,
            _items.dump_json(items),
            lambda parcel: ImportObjectives(actor=caller, parcel=parcel, dry_run=dry_run),
        )
    )
    if report.dry_run:
        response.status_code = 200
    return report
