"""Changes to KPI definitions. Each one that can move a KPI's progress publishes
kpi.progress_changed through the outbox, in the same transaction."""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from okr_kpis import repository
from okr_kpis.errors import StaleVersion
from okr_kpis.models import Kpi
from okr_kpis.permissions import ensure_can_create, ensure_can_manage, ensure_can_place, found
from okr_kpis.views import progress_event, response
from okr_shared import channels, subjects
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.kpi_rpc import ArchiveKpi, CreateKpi, UpdateKpi
from okr_shared.contracts.kpis import Direction, KpiResponse, KpiStatus, check_target
from okr_shared.errors import Invalid
from okr_shared.kpi_progress import kpi_progress
from okr_shared.outbox import Outbox

# Published by these commands and by ingestion (okr_kpis.ingest), through the one outbox.
PUBLISHES = (channels.KPI_PROGRESS_CHANGED,)

PROGRESS_FIELDS = {"direction", "baseline_value", "target_value"}


async def create_kpi(session: AsyncSession, outbox: Outbox, request: CreateKpi) -> KpiResponse:
    data = request.data
    department = data.department or request.owner_department
    ensure_can_create(request.actor, request.owner_id, department)
    values = {
        **data.model_dump(exclude={"owner_id", "department"}, mode="json"),
        "owner_id": request.owner_id,
        "department": department,
        "status": KpiStatus.ACTIVE.value,
        "created_by": request.actor.user_id,
        "version": 1,
    }
    kpi = await repository.insert_kpi(session, values)
    await outbox.add(session, subjects.KPI_PROGRESS_CHANGED, [progress_event(kpi)])
    return response(kpi)


async def update_kpi(session: AsyncSession, outbox: Outbox, request: UpdateKpi) -> KpiResponse:
    kpi = await _for_change(session, request.actor, request.kpi_id)
    _check_version(kpi, request.expected_version or request.changes.version)
    values = {
        k: v.value if isinstance(v, Enum) else v for k, v in request.changes.changes().items()
    }
    if request.actor.role is Role.EMPLOYEE and values.get("owner_id", kpi.owner_id) != kpi.owner_id:
        raise Invalid("an employee cannot give their KPI to someone else")
    if "department" in values:
        ensure_can_place(request.actor, values["department"])
    if PROGRESS_FIELDS & values.keys():
        values["progress_percentage"] = _progress_after(kpi, values)
    if not any(getattr(kpi, k) != v for k, v in values.items()):
        return response(kpi)
    updated = await repository.update_kpi(session, kpi.id, values)
    await outbox.add(session, subjects.KPI_PROGRESS_CHANGED, [progress_event(updated)])
    return response(updated)


async def archive_kpi(session: AsyncSession, outbox: Outbox, request: ArchiveKpi) -> None:
    kpi = await _for_change(session, request.actor, request.kpi_id)
    _check_version(kpi, request.expected_version)
    if kpi.status == KpiStatus.ARCHIVED.value:
        return
    archived = await repository.update_kpi(session, kpi.id, {"status": KpiStatus.ARCHIVED.value})
    await outbox.add(session, subjects.KPI_PROGRESS_CHANGED, [progress_event(archived)])


def _progress_after(kpi: Kpi, values: dict[str, Any]) -> float | None:
    direction = Direction(values.get("direction", kpi.direction))
    baseline = values.get("baseline_value", kpi.baseline_value)
    target = values.get("target_value", kpi.target_value)
    try:
        check_target(direction, baseline, target)
    except ValueError as err:
        raise Invalid(str(err)) from None
    return kpi_progress(direction, baseline, target, kpi.current_value)


async def _for_change(session: AsyncSession, actor: Actor, kpi_id: int) -> Kpi:
    locked = await repository.get_kpi(session, kpi_id, seen_by=actor, for_update=True)
    kpi = found(locked, kpi_id)
    ensure_can_manage(actor, kpi)
    return kpi


def _check_version(kpi: Kpi, expected: int | None) -> None:
    if expected is not None and expected != kpi.version:
        raise StaleVersion(kpi.id, expected, kpi.version)
