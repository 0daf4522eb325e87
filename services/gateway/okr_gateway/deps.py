"""What routes depend on, as `Annotated` aliases: the session, the caller, the services."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import nats.errors
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_gateway import integrations, repository, service
from okr_gateway.errors import RateLimited, Unauthorized
from okr_gateway.models import User
from okr_gateway.security import Tokens
from okr_gateway.settings import GatewaySettings
from okr_shared import rpc, tracing
from okr_shared.contracts.common import Actor, Role
from okr_shared.errors import Forbidden, Unavailable

T = TypeVar("T")


@dataclass
class Services:
    """Request/reply to the services behind the gateway."""

    broker: NatsBroker
    timeout_s: float
    large_timeout_s: float

    async def call(self, subject: str, request: BaseModel, result_type: type[T] | Any) -> T:
        result: T = await rpc.call(
            self.broker, subject, request, result_type, timeout=self.timeout_s
        )
        return result

    async def publish(self, subject: str, body: bytes, idempotency_key: str) -> bool:
        """Publish to JetStream with the key as Nats-Msg-Id, and wait for the stream to store
        it. True when the stream already had that key (a retry)."""
        try:
            ack = await self.broker.connection.jetstream().publish(
                subject,
                body,
                # The request's trace goes on into the KPIs service and the rollup it causes.
                headers=tracing.inject({"Nats-Msg-Id": idempotency_key}),
                timeout=self.timeout_s,
            )
        except (nats.errors.Error, IncorrectState, AttributeError) as err:
            raise Unavailable("the message bus did not take the value; try again") from err
        return bool(ack.duplicate)

    async def call_raw(self, subject: str, request: BaseModel) -> bytes:
        """The JSON bytes of a large answer, passed through without parsing them."""
        return await rpc.call_raw(self.broker, subject, request, timeout=self.large_timeout_s)


@dataclass
class GatewayState:
    settings: GatewaySettings
    sessions: async_sessionmaker[AsyncSession]
    readers: async_sessionmaker[AsyncSession]  # no transaction: for reads
    services: Services
    tokens: Tokens
    # None when this gateway is not configured for them (OKR_NATS_CALLOUT_SEED unset).
    integrations: integrations.IntegrationAccess | None = None


async def state(request: Request) -> GatewayState:
    # async, like every dependency here: FastAPI runs a plain def in a worker thread.
    gateway_state: GatewayState = request.app.state.gateway
    return gateway_state


StateDep = Annotated[GatewayState, Depends(state)]


async def session(gateway: StateDep) -> AsyncIterator[AsyncSession]:
    """A session per request; routes that write commit it themselves, at the boundary."""
    async with gateway.sessions() as db:
        yield db


SessionDep = Annotated[AsyncSession, Depends(session)]


async def reader(gateway: StateDep) -> AsyncIterator[AsyncSession]:
    async with gateway.readers() as db:
        yield db


ReaderDep = Annotated[AsyncSession, Depends(reader)]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def current_user(gateway: StateDep, token: Annotated[str | None, Depends(bearer)]) -> User:
    if not token:
        raise Unauthorized(
            "not signed in: send Authorization: Bearer <token> from /api/v1/auth/login"
        )
    user_id = gateway.tokens.user_id(token)
    if user_id is None:
        raise Unauthorized("the token is invalid or expired; sign in again")
    # A reader session, closed at once: the connection goes back to the pool instead of idling
    # for as long as the services take to answer (a whole tree can take seconds).
    async with gateway.readers() as db:
        return await service.active_user(db, user_id)


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if user.role != Role.ADMIN.value:
        raise Forbidden("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


async def writer(user: CurrentUser, gateway: StateDep) -> User:
    """The caller, counted against the per-user write limit (429 with Retry-After beyond it)."""
    limit = gateway.settings.writes_per_minute
    if limit:
        async with gateway.sessions.begin() as db:
            count, seconds_left = await repository.count_write(db, user.id)
        if count > limit:
            raise RateLimited(limit, max(1, math.ceil(seconds_left)))
    return user


Writer = Annotated[User, Depends(writer)]


async def value_prefix(user: Writer, gateway: StateDep) -> str:
    """Where the values this caller records over REST are published: the subject says who sent
    them, and only the gateway may publish under a user's prefix."""
    async with gateway.readers() as db:
        return await integrations.prefix_for(db, user)


ValuePrefix = Annotated[str, Depends(value_prefix)]


async def integration_access(gateway: StateDep) -> integrations.IntegrationAccess:
    if gateway.integrations is None:
        raise Unavailable(
            "this gateway has no NATS auth callout for integrations: set OKR_NATS_CALLOUT_SEED "
            "and OKR_NATS_SYSTEM_URL (./okr up sets them for its own NATS server)"
        )
    return gateway.integrations


IntegrationAccessDep = Annotated[integrations.IntegrationAccess, Depends(integration_access)]


async def services(gateway: StateDep) -> Services:
    return gateway.services


ServicesDep = Annotated[Services, Depends(services)]


def actor(user: User) -> Actor:
    """The caller as the gateway vouches for it to the services."""
    return Actor(user_id=user.id, role=Role(user.role), department=user.department)
