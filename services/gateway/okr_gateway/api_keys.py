"""API keys: issued, listed, revoked, and checked on each request. Plain async functions over a
session."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import api_key_repository as repository
from okr_gateway.errors import Unauthorized
from okr_gateway.models import ApiKey, User
from okr_gateway.scopes import Scope, role_scopes
from okr_gateway.security import api_key_prefix, new_api_key, same_digest
from okr_gateway.security_log import EventKind, Origin, record
from okr_shared.contracts.common import Role
from okr_shared.errors import Conflict, Forbidden, Invalid, NotFound

MARK_USED_EVERY = timedelta(minutes=1)
# Each key has a write limit of its own: without a cap on keys, a user could multiply theirs.
MAX_KEYS_PER_USER = 20


async def issue_api_key(
    session: AsyncSession,
    owner: User,
    name: str,
    scopes: Iterable[Scope | str],
    expires_at: datetime | None,
    *,
    origin: Origin | None = None,
) -> tuple[ApiKey, str]:
    """A new key for `owner`: its row and the key itself, which is shown once and kept nowhere.
    Refuses scopes the owner's role cannot use (403) and an expiry that is not in the future.
    `origin` is who asked, for the security log (default: the owner)."""
    try:
        wanted = sorted({Scope(scope) for scope in scopes})
    except ValueError as err:
        raise Invalid(f"unknown scope: {err}") from None
    if not wanted:
        raise Invalid("a key needs at least one scope")
    beyond = [scope.value for scope in wanted if scope not in role_scopes(owner.role)]
    if beyond:
        raise Forbidden(
            f"the {owner.role} role cannot use {', '.join(beyond)}: "
            "a key may hold only its owner's rights"
        )
    held = await repository.active_owner_key_count(session, owner.id)
    if held is None:
        raise Invalid(f"user {owner.id} is deactivated and may hold no keys")
    if held >= MAX_KEYS_PER_USER:
        raise Conflict(
            f"user {owner.id} holds {held} current API keys, the most one may; revoke one first"
        )
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Invalid("expires_at must be in the future")
    new = new_api_key()
    row = await repository.insert_key(
        session,
        {
            "user_id": owner.id,
            "name": name,
            "prefix": new.prefix,
            "digest": new.digest,
            "scopes": [scope.value for scope in wanted],
            "expires_at": expires_at,
        },
    )
    await record(
        session,
        EventKind.API_KEY_CREATED,
        origin or Origin(owner.id, None),
        user_id=owner.id,
        api_key_id=row.id,
        detail=f"{name} ({', '.join(row.scopes)})",
    )
    return row, new.key


async def authenticate(session: AsyncSession, key: str) -> tuple[ApiKey, User]:
    """The key's row and its owner, if the key is ours, current and its owner active."""
    prefix = api_key_prefix(key)
    if prefix is None:
        raise Unauthorized("the API key is malformed: expected okr_<prefix>_<secret>")
    found = await repository.key_and_owner(session, prefix)
    if found is None or not same_digest(key, found[0].digest):
        raise Unauthorized("the API key is not valid")
    row, owner = found
    if row.revoked_at is not None:
        raise Unauthorized("the API key was revoked")
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        raise Unauthorized("the API key has expired")
    if not owner.is_active:
        raise Unauthorized("the API key's owner is deactivated")
    return row, owner


async def current_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of `keys` (whole keys, as callers hold them) not revoked or expired, by one query:
    for the open progress streams, which are one long request each."""
    prefixes = {key: api_key_prefix(key) for key in keys}
    found = await repository.current_prefixes(session, [p for p in prefixes.values() if p])
    return {key for key, prefix in prefixes.items() if prefix in found}


def effective_scopes(key: ApiKey, owner: User) -> frozenset[Scope]:
    """The key's scopes that its owner's role still allows (a demoted owner's keys shrink)."""
    return frozenset(scope for scope in role_scopes(owner.role) if scope.value in key.scopes)


def needs_marking_used(key: ApiKey) -> bool:
    return key.last_used_at is None or key.last_used_at < datetime.now(UTC) - MARK_USED_EVERY


async def mark_used(session: AsyncSession, key: ApiKey) -> None:
    await repository.mark_used(session, key.id)


async def list_keys(
    session: AsyncSession, caller: User, user_id: int | None, skip: int, limit: int
) -> tuple[list[ApiKey], int]:
    """An admin's choice of user's keys (every key without one); anyone else's own."""
    if caller.role != Role.ADMIN.value:
        if user_id not in (None, caller.id):
            raise Forbidden("only an admin may list other users' keys")
        user_id = caller.id
    return await repository.list_keys(session, user_id, skip, limit)


async def revoke(session: AsyncSession, caller: User, key_id: int, origin: Origin) -> None:
    """Revoke one of the caller's keys (an admin: anyone's). Another's key reads as missing."""
    key = await repository.get_key(session, key_id)
    if key is None or (key.user_id != caller.id and caller.role != Role.ADMIN.value):
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is not None:
        return
    await repository.revoke_key(session, key_id)
    await record(
        session,
        EventKind.API_KEY_REVOKED,
        origin,
        user_id=key.user_id,
        api_key_id=key.id,
        detail=key.name,
    )


async def count_write(session: AsyncSession, key: ApiKey) -> tuple[int, float]:
    return await repository.count_key_write(session, key.id)


async def revoke_all_of(session: AsyncSession, user_id: int) -> int:
    """On deactivation: the user's keys end for good, even if the user comes back."""
    return len(await repository.revoke_keys_of(session, user_id))
