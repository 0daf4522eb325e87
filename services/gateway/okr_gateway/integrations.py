"""Integrations: create one (a NATS identity and a user without a password), read it with what
it sent, revoke it. Plain async functions over a session, plus what they are handed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import api_keys
from okr_gateway import integration_repository as repository
from okr_gateway import repository as users
from okr_gateway.integration_schemas import (
    IntegrationCreate,
    IntegrationCreated,
    IntegrationResponse,
)
from okr_gateway.models import Integration, User
from okr_gateway.nats_access import Callout, SystemAccount, nats_username, secret_hash
from okr_gateway.security_log import Origin
from okr_shared import subjects
from okr_shared.contracts.common import Role
from okr_shared.contracts.kpis import SourceStats
from okr_shared.errors import Conflict, NotFound

# An argon2 verifier refuses it (not a hash): the user cannot sign in with any password.
NO_PASSWORD = "!integration: no password"  # noqa: S105


@dataclass
class IntegrationAccess:
    """What integrations need from NATS: the callout it answers, the system account's user."""

    callout: Callout
    system: SystemAccount
    public_url: str  # where integrations connect


async def create(
    session: AsyncSession, admin: User, data: IntegrationCreate, origin: Origin
) -> tuple[Integration, str, str]:
    """The new integration, its NATS password and its API key (both kept only as hashes)."""
    user = await users.insert_user(
        session,
        {
            "username": f"integration:{data.name}",
            "full_name": data.name,
            "role": Role.INTEGRATION.value,
            "password_hash": NO_PASSWORD,
        },
    )
    password = secrets.token_urlsafe(32)
    integration = None
    if user is not None:
        values = {
            "name": data.name,
            "user_id": user.id,
            "scopes": list(data.scopes),
            "nats_secret_hash": secret_hash(password),
            "created_by": admin.id,
        }
        integration = await repository.insert(session, values)
    if integration is None:
        raise Conflict(f"an integration named {data.name!r} already exists")
    assert user is not None
    _, api_key = await api_keys.issue_api_key(
        session, user, f"integration {data.name}", data.scopes, None, origin=origin
    )
    return integration, password, api_key


async def get(session: AsyncSession, integration_id: int) -> Integration:
    integration = await repository.get(session, integration_id)
    if integration is None:
        raise NotFound(f"integration {integration_id} not found")
    return integration


async def list_all(session: AsyncSession) -> list[Integration]:
    return await repository.list_all(session)


async def revoke(session: AsyncSession, integration_id: int) -> Integration:
    """Revoked from the commit on: the callout lets no new connection in, its user (and so
    its keys) is deactivated. Its open connections are the caller's to close."""
    integration = await repository.revoke(session, integration_id)
    if integration is None or integration.revoked_at is None:
        raise NotFound(f"integration {integration_id} not found")
    await api_keys.revoke_all_of(session, integration.user_id)
    return integration


async def prefix_for(session: AsyncSession, user: User) -> str:
    """Where the gateway publishes the values `user` records over REST: an integration's own
    prefix when the user is one's, so its values carry its name whichever way they come."""
    if user.role == Role.INTEGRATION.value:
        integration = await repository.by_user(session, user.id)
        if integration is not None:
            return subjects.integration_value_prefix(integration.id)
    return subjects.user_value_prefix(user.id)


def view(integration: Integration, stats: SourceStats | None) -> IntegrationResponse:
    return IntegrationResponse(
        id=integration.id,
        name=integration.name,
        user_id=integration.user_id,
        scopes=list(integration.scopes),
        nats_user=nats_username(integration.id),
        subject_prefix=subjects.integration_value_prefix(integration.id),
        inbox_prefix=subjects.integration_inbox_prefix(integration.id),
        source=subjects.integration_source(integration.id),
        created_at=integration.created_at,
        revoked_at=integration.revoked_at,
        last_connected_at=integration.last_connected_at,
        connections=integration.connections,
        last_published_at=stats.last_published_at if stats else None,
        values_sent=stats.values_sent if stats else 0,
        values_refused=stats.values_refused if stats else 0,
        last_refused_at=stats.last_refused_at if stats else None,
    )


def created(
    integration: Integration, password: str, public_url: str, api_key: str
) -> IntegrationCreated:
    parts = urlsplit(public_url)
    credentials = f"{nats_username(integration.id)}:{password}@"
    url = parts._replace(netloc=credentials + parts.netloc.rpartition("@")[2]).geturl()
    return IntegrationCreated(
        **view(integration, None).model_dump(),
        nats_url=url,
        nats_password=password,
        api_key=api_key,
    )
