"""NATS request/reply handlers: decode, call a use case in one transaction, reply."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_objectives import service
from okr_shared import subjects
from okr_shared.contracts.objectives import CreateObjective, GetObjective, ObjectiveResponse
from okr_shared.outbox import Outbox
from okr_shared.rpc import RpcRouter


def build_router(sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> RpcRouter:
    rpc = RpcRouter(queue="objectives")

    @rpc.route(subjects.RPC_OBJECTIVES_CREATE)
    async def create_objective(request: CreateObjective) -> ObjectiveResponse:
        """Create an objective; publishes objective.created."""
        async with sessions.begin() as session:
            return await service.create_objective(session, outbox, request)

    @rpc.route(subjects.RPC_OBJECTIVES_GET)
    async def get_objective(request: GetObjective) -> ObjectiveResponse:
        """One objective, if the caller may see it."""
        async with sessions.begin() as session:
            return await service.get_objective(session, request)

    return rpc
