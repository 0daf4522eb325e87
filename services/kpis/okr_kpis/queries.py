"""Reads of the KPIs service: definitions, value history, writability, rejections."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from okr_kpis import repository
from okr_kpis.errors import NotAllowed
from okr_kpis.permissions import allowed_actions, can_write_values, found
from okr_kpis.views import progress_event, response, value_view
from okr_shared import subjects
from okr_shared.contracts.common import Page, Role
from okr_shared.contracts.kpi_rpc import (
    KpiRequest,
    ListKpis,
    RecentRejections,
    SourceStatsRequest,
    ValueHistory,
    Writability,
    WritableKpis,
    WriteRefusal,
)
from okr_shared.contracts.kpis import KpiDetail, KpiResponse, KpiValue, Rejection, SourceStats
from okr_shared.contracts.progress import KpisExport


async def get_kpi(session: AsyncSession, request: KpiRequest) -> KpiDetail:
    kpi_id = request.kpi_id
    kpi = found(await repository.get_kpi(session, kpi_id, seen_by=request.actor), kpi_id)
    return KpiDetail(
        **response(kpi).model_dump(), allowed_actions=allowed_actions(request.actor, kpi)
    )


async def list_kpis(session: AsyncSession, request: ListKpis) -> Page[KpiResponse]:
    rows, total = await repository.list_kpis(
        session, request.actor, request.filters, request.skip, request.limit
    )
    return Page(
        items=[response(k) for k in rows], total=total, skip=request.skip, limit=request.limit
    )


async def value_history(session: AsyncSession, request: ValueHistory) -> list[KpiValue]:
    kpi_id = request.kpi_id
    found(await repository.get_kpi(session, kpi_id, seen_by=request.actor), kpi_id)
    values = await repository.history(
        session, request.kpi_id, request.since, request.until, request.limit
    )
    return [value_view(v) for v in values]


async def writable(session: AsyncSession, request: WritableKpis) -> Writability:
    """Of the ids asked about, each the caller may not write values to, and why."""
    seen = {k.id: k for k in await repository.visible_kpis(session, request.actor, request.kpi_ids)}
    refused: dict[int, WriteRefusal] = {}
    for kpi_id in request.kpi_ids:
        kpi = seen.get(kpi_id)
        if kpi is None:
            refused[kpi_id] = WriteRefusal.MISSING
        elif kpi.status == "archived":
            refused[kpi_id] = WriteRefusal.ARCHIVED
        elif not can_write_values(request.actor, kpi):
            refused[kpi_id] = WriteRefusal.FORBIDDEN
    return Writability(refused=refused)


async def rejections(js: JetStreamContext, request: RecentRejections) -> list[Rejection]:
    """The newest values refused, read back from the KPI_VALUES_DLQ stream (admin only)."""
    if request.actor.role is not Role.ADMIN:
        raise NotAllowed("only an admin can read the rejected values")
    stream = subjects.KPI_VALUES.dlq_name
    try:
        last = (await js.stream_info(stream)).state.last_seq
    except NotFoundError:
        return []
    found: list[Rejection] = []
    sequence = last
    while sequence > 0 and len(found) < request.limit:
        with contextlib.suppress(NotFoundError):  # expired or deleted
            msg = await js.get_msg(stream, sequence)
            headers = msg.headers or {}
            found.append(
                Rejection(
                    sequence=sequence,
                    subject=headers.get("Okr-Original-Subject", msg.subject),
                    reason=headers.get("Okr-Dlq-Reason", ""),
                    payload=(msg.data or b"").decode("utf-8", errors="replace"),
                    idempotency_key=headers.get("Okr-Original-Msg-Id"),
                    rejected_at=_timestamp(msg),
                )
            )
        sequence -= 1
    return found


async def source_stats(session: AsyncSession, request: SourceStatsRequest) -> list[SourceStats]:
    """Values sent and refused per sender (admin only): an integration's page shows its own."""
    if request.actor.role is not Role.ADMIN:
        raise NotAllowed("only an admin can read what each sender sent")
    rows = await repository.source_stats(session, request.sources)
    return [SourceStats.model_validate(row, from_attributes=True) for row in rows]


def _timestamp(msg: object) -> datetime:
    value = getattr(msg, "time", None)
    if isinstance(value, datetime):
        return value
    return datetime.now(UTC)


async def export(session: AsyncSession) -> bytes:
    """Every KPI's progress, as kpi.progress_changed carries it (for a rebuild)."""
    kpis = await repository.all_kpis(session)
    return KpisExport(kpis=[progress_event(k) for k in kpis]).model_dump_json().encode()
