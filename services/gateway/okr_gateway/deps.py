"""What routes depend on, as `Annotated` aliases: the session, the caller, the services.

Every route that a program may call with an API key names the scope it needs through `scoped`
(the aliases ObjectivesRead ... WebhooksManage); routes for people alone (users, keys, the
security log, sign-out) take CurrentUser, AdminUser or Writer, which refuse keys."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import nats.errors
from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from okr_gateway import api_keys, integrations, repository, service
from okr_gateway.errors import RateLimited, Unauthorized
from okr_gateway.identities import Identities
from okr_gateway.models import ApiKey, User
from okr_gateway.read_model.feed import ReadModel
from okr_gateway.scopes import DESCRIPTIONS, Scope
from okr_gateway.security import Tokens, looks_like_api_key
from okr_gateway.security_log import Origin
from okr_gateway.settings import GatewaySettings
from okr_gateway.sign_in import SignIn
from okr_shared import parcels, rpc, tracing
from okr_shared import subjects as s
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.errors import Forbidden, Unavailable

T = TypeVar("T")
Req = TypeVar("Req", bound=BaseModel)


@dataclass
class Services:
    """Request/reply to the services behind the gateway."""

    broker: NatsBroker
    timeout_s: float
    large_timeout_s: float
    replicas: int = 1  # of JetStream's copies of a parcel (OKR_NATS_REPLICAS)

    async def ask(self, endpoint: RpcEndpoint[Req, T], request: Req) -> T:
        """Call a declared endpoint (okr_shared.contracts): its typed result, or its error."""
        return await rpc.ask(self.broker, endpoint, request, timeout=self.timeout_s)

    async def ask_long(self, endpoint: RpcEndpoint[Req, T], request: Req) -> T:
        """`ask`, for a request that takes a while (closing a period of 100,000 objectives):
        OKR_GATEWAY_RPC_LARGE_TIMEOUT_S."""
        return await rpc.ask(self.broker, endpoint, request, timeout=self.large_timeout_s)

    async def publish(
        self, subject: str, body: bytes, message_id: str, value_key: str | None = None
    ) -> bool:
        """Publish to JetStream with this Nats-Msg-Id (and the value's own idempotency key, if
        it is not the id), and wait for the stream to store it. True when the stream already
        had that id (a retry)."""
        headers = {"Nats-Msg-Id": message_id}
        if value_key is not None:
            headers[s.VALUE_KEY_HEADER] = value_key
        try:
            ack = await self.broker.connection.jetstream().publish(
                subject,
                body,
                # The request's trace goes on into the KPIs service and the rollup it causes.
                headers=tracing.inject(headers),
                timeout=self.timeout_s,
            )
        except (nats.errors.Error, IncorrectState, AttributeError) as err:
            raise Unavailable("the message bus did not take the value; try again") from err
        return bool(ack.duplicate)

    async def ask_with_parcel(
        self, endpoint: RpcEndpoint[Req, T], body: bytes, request: Callable[[str], Req]
    ) -> T:
        """Call an endpoint whose request names a parcel (okr_shared.parcels) holding `body`,
        too large for a message; the parcel is removed once answered."""
        try:
            name = await parcels.send(self.broker, body, replicas=self.replicas)
        except nats.errors.Error as err:
            raise Unavailable("the message bus did not take the request; try again") from err
        try:
            return await rpc.ask(self.broker, endpoint, request(name), timeout=self.large_timeout_s)
        finally:
            with contextlib.suppress(nats.errors.Error):  # else its age limit removes it
                await parcels.discard(self.broker, name, replicas=self.replicas)

    async def ask_json(self, endpoint: RpcEndpoint[Req, T], request: Req) -> bytes:
        """The JSON bytes of a chunked endpoint's (large) answer, passed through unparsed."""
        return await rpc.ask_json(self.broker, endpoint, request, timeout=self.large_timeout_s)


@dataclass
class GatewayState:
    settings: GatewaySettings
    engine: AsyncEngine  # for the readiness check; requests use the sessions
    sessions: async_sessionmaker[AsyncSession]
    readers: async_sessionmaker[AsyncSession]  # no transaction: for reads
    services: Services
    tokens: Tokens
    sign_in: SignIn  # the password checks and the throttle
    read_model: ReadModel  # answers the hot objective reads once warm
    identities: Identities  # the users requests need, forgotten as they change
    # None when this gateway is not configured for them (OKR_NATS_CALLOUT_SEED unset).
    integrations: integrations.IntegrationAccess | None = None
    # Connected and the admin made (on a first start): until then /ready answers 503.
    started: bool = False


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

bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/login",
    scopes={scope.value: text for scope, text in DESCRIPTIONS.items()},
    description="A token from /api/v1/auth/login, or an API key (okr_<prefix>_<secret>)",
    auto_error=False,
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """Who sent the request: a person with a token, or a program with one of their keys."""

    user: User
    key: ApiKey | None = None
    scopes: frozenset[Scope] = frozenset()  # a key's (a person's token is limited by role only)


async def caller(gateway: StateDep, token: Annotated[str | None, Depends(bearer)]) -> Caller:
    if not token:
        raise Unauthorized(
            "not signed in: send Authorization: Bearer <token> from /api/v1/auth/login, "
            "or an API key"
        )
    if looks_like_api_key(token):
        return await _key_holder(gateway, token)
    claims = gateway.tokens.read(token)
    if claims is None:
        raise Unauthorized("the token is invalid or expired; sign in again")
    user = service.active(await gateway.identities.user(claims.user_id))
    if user.token_generation != claims.generation:
        raise Unauthorized(
            "the token was ended by a sign-out, a password change or reset, or a "
            "deactivation; sign in again"
        )
    return Caller(user)


async def _key_holder(gateway: GatewayState, token: str) -> Caller:
    # Read on every request, never cached: a revoked key is refused from the next request on.
    async with gateway.readers() as db:
        key, owner = await api_keys.authenticate(db, token)
    if api_keys.needs_marking_used(key):  # at most once a minute per key, not per request
        async with gateway.sessions.begin() as db:
            await api_keys.mark_used(db, key)
    return Caller(owner, key, api_keys.effective_scopes(key, owner))


CallerDep = Annotated[Caller, Depends(caller)]


async def current_user(who: CallerDep) -> User:
    """A person signed in with a password; API keys are refused (403)."""
    if who.key is not None:
        raise Forbidden(
            "an API key may not do this: users, API keys, the security log and signing out "
            "are for people signed in with a password"
        )
    return who.user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if user.role != Role.ADMIN.value:
        raise Forbidden("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


async def writer(user: CurrentUser, gateway: StateDep) -> User:
    """A person, counted against the per-user write limit (429 with Retry-After beyond it)."""
    await _count_write(gateway, Caller(user))
    return user


Writer = Annotated[User, Depends(writer)]


async def scoped(
    security_scopes: SecurityScopes, who: CallerDep, request: Request, gateway: StateDep
) -> User:
    """THE way a route says what it needs: `Annotated[User, Security(scoped, scopes=[...])]`,
    or one of the aliases below. A person passes (their role's limits are the services'
    business); an API key needs every scope named, else 403. A write (any method but GET,
    HEAD and OPTIONS) counts against the caller's write limit: the person's, or the key's own."""
    return await _authorize(security_scopes, who, request, gateway, admin_only=False)


async def scoped_admin(
    security_scopes: SecurityScopes, who: CallerDep, request: Request, gateway: StateDep
) -> User:
    """`scoped`, for admins only (their tokens, and their keys with the scopes)."""
    return await _authorize(security_scopes, who, request, gateway, admin_only=True)


async def _authorize(
    security_scopes: SecurityScopes,
    who: Caller,
    request: Request,
    gateway: GatewayState,
    *,
    admin_only: bool,
) -> User:
    if who.key is not None:
        missing = [scope for scope in security_scopes.scopes if scope not in who.scopes]
        if missing:
            raise Forbidden(
                f"this API key lacks the scope {', '.join(missing)}; it has "
                f"{', '.join(sorted(who.scopes)) or 'none its owner may still use'}"
            )
    if admin_only and who.user.role != Role.ADMIN.value:
        raise Forbidden("only an admin may do this")
    if request.method not in READ_METHODS:
        await _count_write(gateway, who)
    return who.user


ObjectivesRead = Annotated[User, Security(scoped, scopes=[Scope.OBJECTIVES_READ])]
ObjectivesWrite = Annotated[User, Security(scoped, scopes=[Scope.OBJECTIVES_WRITE])]
KpisRead = Annotated[User, Security(scoped, scopes=[Scope.KPIS_READ])]
KpisWrite = Annotated[User, Security(scoped, scopes=[Scope.KPIS_WRITE])]
ValuesWrite = Annotated[User, Security(scoped, scopes=[Scope.VALUES_WRITE])]
# Admins only, with a token or a key that has webhooks:manage (which only admins' keys can).
WebhooksManage = Annotated[User, Security(scoped_admin, scopes=[Scope.WEBHOOKS_MANAGE])]


async def _count_write(gateway: GatewayState, who: Caller) -> None:
    """429 with Retry-After beyond the limit: per user per minute for people, per key for keys.
    Counted in PostgreSQL, so the limits hold across gateway replicas."""
    settings = gateway.settings
    limit = settings.writes_per_minute if who.key is None else settings.key_writes_per_minute
    if not limit:
        return
    async with gateway.sessions.begin() as db:
        if who.key is None:
            count, seconds_left = await repository.count_write(db, who.user.id)
        else:
            count, seconds_left = await api_keys.count_write(db, who.key)
    if count > limit:
        raise RateLimited(limit, max(1, math.ceil(seconds_left)))


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


async def origin(user: CurrentUser, address: ClientAddress) -> Origin:
    """Who acts and from where, for the security log."""
    return Origin(user.id, address)


OriginDep = Annotated[Origin, Depends(origin)]


async def value_prefix(user: ValuesWrite, gateway: StateDep) -> str:
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


async def read_model(gateway: StateDep) -> ReadModel:
    return gateway.read_model


ReadModelDep = Annotated[ReadModel, Depends(read_model)]


async def identities(gateway: StateDep) -> Identities:
    return gateway.identities


IdentitiesDep = Annotated[Identities, Depends(identities)]


def actor(user: User) -> Actor:
    """The caller as the gateway vouches for it to the services."""
    return Actor(user_id=user.id, role=Role(user.role), department=user.department)
