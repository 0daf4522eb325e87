"""NATS request/reply handlers: decode, call a use case in one transaction, reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_objectives import check_ins, commands, importing, periods, queries
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.common import Page
from okr_shared.contracts.objective_import import ImportItem, ImportObjectives, ImportReport
from okr_shared.contracts.objectives import (
    AuditEntry,
    CheckIn,
    CreatableLevels,
    ObjectiveDetail,
    ObjectiveKPILink,
    ObjectiveReportRow,
    ObjectiveResponse,
    ObjectiveStats,
    ObjectiveTreeItem,
)
from okr_shared.contracts.periods import Period
from okr_shared.contracts.progress import OBJECTIVES_EXPORT, Export
from okr_shared.db import in_transaction
from okr_shared.errors import Invalid
from okr_shared.outbox import Outbox
from okr_shared.rpc import RpcRouter


def build_router(
    sessions: async_sessionmaker[AsyncSession],
    readers: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    parcel: Callable[[str], Awaitable[bytes | None]],
) -> RpcRouter:
    """Commands run in a transaction (`sessions`), again if PostgreSQL made it a deadlock's
    victim; queries in `readers`, which need none. `parcel` reads a request's body that was too
    large for a message (okr_shared.parcels)."""
    router = RpcRouter(queue="objectives")
    _command_routes(router, sessions, outbox)
    _import_route(router, sessions, outbox, parcel)
    _query_routes(router, readers)
    _practice_routes(router, readers)
    return router


Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res")
Command = Callable[[AsyncSession, Outbox, Req], Awaitable[Res]]


def _command_routes(
    router: RpcRouter, sessions: async_sessionmaker[AsyncSession], outbox: Outbox
) -> None:
    serve = router.serve

    async def run(command: Command[Req, Res], request: Req) -> Res:
        """A command in one transaction, again if PostgreSQL made it a deadlock's victim."""
        return await in_transaction(sessions, lambda session: command(session, outbox, request))

    @serve(rpc.CREATE)
    async def create(request: rpc.CreateObjective) -> rpc.ObjectiveWrite[ObjectiveResponse]:
        """Create an objective; publishes objective.created."""
        return await run(commands.create_objective, request)

    @serve(rpc.UPDATE)
    async def update(request: rpc.UpdateObjective) -> rpc.ObjectiveWrite[ObjectiveResponse]:
        """Change an objective; publishes objective.updated (objective.moved for a new parent)."""
        return await run(commands.update_objective, request)

    @serve(rpc.MOVE)
    async def move(request: rpc.MoveObjective) -> rpc.ObjectiveWrite[ObjectiveResponse]:
        """Give an objective a new parent; publishes objective.moved."""
        return await run(commands.move_objective, request)

    @serve(rpc.DELETE)
    async def delete(request: rpc.DeleteObjective) -> rpc.ObjectiveWrite[None]:
        """Soft-delete an objective and its subtree; publishes objective.deleted."""
        return await run(commands.delete_objective, request)

    @serve(rpc.RESTORE)
    async def restore(request: rpc.ObjectiveRequest) -> rpc.ObjectiveWrite[ObjectiveResponse]:
        """Bring back a deleted objective with its subtree; publishes objective.restored."""
        return await run(commands.restore_objective, request)

    @serve(rpc.LINK_KPI)
    async def link_kpi(request: rpc.LinkKpi) -> rpc.ObjectiveWrite[ObjectiveKPILink]:
        """Link a KPI with a weight; publishes objective.kpi_linked."""
        return await run(commands.link_kpi, request)

    @serve(rpc.UNLINK_KPI)
    async def unlink_kpi(request: rpc.UnlinkKpi) -> rpc.ObjectiveWrite[None]:
        """Remove a KPI link; publishes objective.kpi_unlinked."""
        return await run(commands.unlink_kpi, request)

    @serve(rpc.CLOSE_PERIOD)
    async def close_period(request: rpc.PeriodRequest) -> rpc.ObjectiveWrite[Period]:
        """Grade and freeze every objective of a year or quarter; publishes objective.graded."""
        return await run(periods.close_period, request)

    @serve(rpc.REOPEN_PERIOD)
    async def reopen_period(request: rpc.PeriodRequest) -> rpc.ObjectiveWrite[Period]:
        """Unfreeze a closed period's objectives; publishes objective.reopened."""
        return await run(periods.reopen_period, request)

    @serve(rpc.CHECK_IN)
    async def check_in(request: rpc.CheckInObjective) -> rpc.ObjectiveWrite[CheckIn]:
        """Say how an objective goes; publishes objective.checked_in."""
        return await run(check_ins.check_in, request)


ImportItems = TypeAdapter(list[ImportItem])


def _import_route(
    router: RpcRouter,
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    parcel: Callable[[str], Awaitable[bytes | None]],
) -> None:
    @router.serve(rpc.IMPORT)
    async def import_(request: ImportObjectives) -> rpc.ObjectiveWrite[ImportReport]:
        """Create many objectives and their KPI links in one transaction; publishes
        objective.created and objective.kpi_linked."""
        body = await parcel(request.parcel)
        if body is None:
            raise Invalid("the import's rows are no longer kept; send the import again")
        items = ImportItems.validate_json(body)
        return await in_transaction(
            sessions, lambda session: importing.import_objectives(session, outbox, request, items)
        )


def _query_routes(router: RpcRouter, sessions: async_sessionmaker[AsyncSession]) -> None:
    serve = router.serve

    @serve(rpc.GET)
    async def get(request: rpc.ObjectiveRequest) -> ObjectiveDetail:
        """One objective with its counts, if the caller may see it."""
        async with sessions() as session:
            return await queries.get_objective(session, request)

    @serve(rpc.CREATABLE_LEVELS)
    async def creatable_levels(request: rpc.CreatableLevelsRequest) -> CreatableLevels:
        """The levels the caller may create objectives at (from the permission matrix)."""
        return queries.levels_to_create(request)

    @serve(rpc.LIST)
    async def list_(request: rpc.ListObjectives) -> Page[ObjectiveResponse]:
        """A page of the objectives the caller may see."""
        async with sessions() as session:
            return await queries.list_objectives(session, request)

    @serve(rpc.CHILDREN)
    async def children(request: rpc.ObjectiveRequest) -> list[ObjectiveResponse]:
        """Direct children the caller may see."""
        async with sessions() as session:
            return await queries.children(session, request)

    @serve(rpc.ANCESTORS)
    async def ancestors(request: rpc.ObjectiveRequest) -> list[ObjectiveResponse]:
        """Ancestors the caller may see, nearest first."""
        async with sessions() as session:
            return await queries.ancestors(session, request)

    @serve(rpc.OWNERS)
    async def owners(request: rpc.VisibleOwners) -> list[int]:
        """Which of these users own an objective the caller may see (whose names it may read)."""
        async with sessions() as session:
            return await queries.visible_owners(session, request)

    @serve(rpc.VISIBLE_IDS)
    async def visible_ids(request: rpc.VisibleIds) -> list[int]:
        """The ids of the objectives the caller may see (all, a subtree's, or some of a list)."""
        async with sessions() as session:
            return await queries.visible_ids(session, request)

    @serve(rpc.BY_KPI)
    async def by_kpi(request: rpc.ObjectivesByKpi) -> list[ObjectiveResponse]:
        """Objectives the caller may see that link a KPI."""
        async with sessions() as session:
            return await queries.linking_kpi(session, request)

    @serve(rpc.STATS)
    async def stats(request: rpc.StatsSummary) -> ObjectiveStats:
        """Counts by level and status, and the average progress."""
        async with sessions() as session:
            return await queries.stats(session, request)

    @serve(rpc.HISTORY)
    async def history(request: rpc.ObjectiveRequest) -> list[AuditEntry]:
        """The audit trail of one objective, newest first."""
        async with sessions() as session:
            return await queries.history(session, request)

    @serve(rpc.LINKS)
    async def links(request: rpc.ObjectiveRequest) -> list[ObjectiveKPILink]:
        """The KPIs an objective links, with their weights."""
        async with sessions() as session:
            return await queries.links(session, request)

    @serve(rpc.TREE)
    async def tree(request: rpc.TreeView) -> bytes:
        """Nested trees of objectives (raw JSON, in chunks)."""
        async with sessions() as session:
            return await queries.tree_view(session, request)

    @serve(OBJECTIVES_EXPORT)
    async def export(_: Export) -> bytes:
        """Every objective and link, as states (for a rebuild of the progress projection)."""
        async with sessions() as session:
            return await queries.export(session)

    @serve(rpc.TREE_LEVEL)
    async def tree_level(request: rpc.TreeLevel) -> list[ObjectiveTreeItem]:
        """One level of the tree view, each objective with its count of children in view."""
        async with sessions() as session:
            return await queries.tree_level(session, request)

    @serve(rpc.GANTT)
    async def gantt(request: rpc.GanttView) -> bytes:
        """Objectives as Gantt items (raw JSON, in chunks)."""
        async with sessions() as session:
            return await queries.gantt_view(session, request)


def _practice_routes(router: RpcRouter, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The reads of the OKR practice: check-ins, periods and the export's rows."""
    serve = router.serve

    @serve(rpc.REPORT)
    async def report(request: rpc.ReportObjectives) -> list[ObjectiveReportRow]:
        """Every objective the caller may see, with its KPI links (an export's rows)."""
        async with sessions() as session:
            return await queries.report(session, request)

    @serve(rpc.PERIODS)
    async def list_periods(request: rpc.ListPeriods) -> list[Period]:
        """Every period with its state and average grade by level."""
        async with sessions() as session:
            return await periods.list_periods(session, request)

    @serve(rpc.CHECK_INS)
    async def list_check_ins(request: rpc.ListCheckIns) -> Page[CheckIn]:
        """An objective's check-ins, newest first."""
        async with sessions() as session:
            return await check_ins.check_ins(session, request)
