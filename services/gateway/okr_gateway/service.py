"""Identity use cases: users, sign-out, the first admin. Plain async functions over a session
(sign-in, which needs two, is in sign_in.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import api_keys, repository
from okr_gateway.errors import Unauthorized
from okr_gateway.models import User
from okr_gateway.schemas import UserCreate, UserUpdate
from okr_gateway.security import PasswordHashing
from okr_gateway.security_log import EventKind, Origin, record
from okr_shared.contracts.common import Role
from okr_shared.errors import Conflict, Invalid, NotFound


def active(user: User | None) -> User:
    """The caller a token names, if they may still act."""
    if user is None or not user.is_active:
        raise Unauthorized("the token's user no longer exists or is deactivated; sign in again")
    return user


async def create_user(
    session: AsyncSession, data: UserCreate, passwords: PasswordHashing, origin: Origin
) -> User:
    values = data.model_dump(exclude={"password"})
    values["role"] = data.role.value
    # Hashed before the session first speaks to the database: no connection waits on argon2.
    values["password_hash"] = await passwords.hash(data.password.get_secret_value())
    user = await repository.insert_user(session, values)
    if user is None:
        raise Conflict(f"username {data.username!r} is already taken")
    await record(session, EventKind.USER_CREATED, origin, user_id=user.id, detail=user.role)
    return user


async def list_users(
    session: AsyncSession, filters: dict[str, Any], skip: int, limit: int
) -> tuple[list[User], int]:
    return await repository.list_users(session, filters, skip, limit)


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def update_user(
    session: AsyncSession,
    actor: User,
    user_id: int,
    data: UserUpdate,
    passwords: PasswordHashing,
    origin: Origin,
) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"password", "role", "is_active"})
    if data.role is not None:
        changes["role"] = data.role.value
    if data.is_active is not None:
        changes["is_active"] = data.is_active
    if user_id == actor.id and (
        changes.get("is_active") is False
        or changes.get("role", Role.ADMIN.value) != Role.ADMIN.value
    ):
        raise Conflict("you cannot deactivate or demote yourself; ask another admin")
    if data.password is not None:  # before the session first speaks to the database
        changes["password_hash"] = await passwords.hash(data.password.get_secret_value())
    before = await get_user(session, user_id)
    if not changes:
        return before
    events = _events_of_change(before, changes)
    end_tokens = EventKind.PASSWORD_RESET in events or EventKind.USER_DEACTIVATED in events
    user = await repository.update_user(session, user_id, changes, end_tokens=end_tokens)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if EventKind.USER_DEACTIVATED in events:
        events[EventKind.USER_DEACTIVATED] = await _end_keys(session, user_id)
    for kind, detail in events.items():
        await record(session, kind, origin, user_id=user_id, detail=detail)
    return user


def _events_of_change(before: User, changes: dict[str, Any]) -> dict[EventKind, str]:
    events: dict[EventKind, str] = {}
    if "password_hash" in changes:
        events[EventKind.PASSWORD_RESET] = ""
    if changes.get("role", before.role) != before.role:
        events[EventKind.USER_ROLE_CHANGED] = f"{before.role} -> {changes['role']}"
    if changes.get("is_active", before.is_active) != before.is_active:
        kind = EventKind.USER_DEACTIVATED if before.is_active else EventKind.USER_REACTIVATED
        events[kind] = ""
    return events


async def deactivate_user(session: AsyncSession, actor: User, user_id: int, origin: Origin) -> None:
    if user_id == actor.id:
        raise Conflict("you cannot deactivate yourself; ask another admin")
    was_active = (await get_user(session, user_id)).is_active  # the update refreshes the row
    changes = {"is_active": False}
    if await repository.update_user(session, user_id, changes, end_tokens=True) is None:
        raise NotFound(f"user {user_id} not found")
    if was_active:
        detail = await _end_keys(session, user_id)
        await record(session, EventKind.USER_DEACTIVATED, origin, user_id=user_id, detail=detail)


async def _end_keys(session: AsyncSession, user_id: int) -> str:
    revoked = await api_keys.revoke_all_of(session, user_id)
    return f"{revoked} API key(s) revoked" if revoked else ""


async def sign_out(session: AsyncSession, user: User, origin: Origin) -> None:
    """Ends every token of the user issued before now (each device signs in again)."""
    await repository.update_user(session, user.id, {}, end_tokens=True)
    await record(session, EventKind.LOGOUT, origin, user_id=user.id)


async def resolve_owner(session: AsyncSession, caller: User, owner_id: int | None) -> User:
    """The owner of a new object: the caller by default, else an active user."""
    if owner_id is None or owner_id == caller.id:
        return caller
    owner = await repository.get_user(session, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid(f"owner_id {owner_id}: no such active user")
    return owner


async def users_by_id(session: AsyncSession, user_ids: list[int]) -> dict[int, User]:
    return await repository.users_by_id(session, sorted(set(user_ids)))


USER_FIELDS = tuple(column.key for column in inspect(User).column_attrs)


def fingerprint(user: User) -> int:
    """A digest of everything stored about the user (whatever columns come to be added): when
    it changes, whatever depends on the user, such as a live stream, checks it again."""
    return hash(tuple(getattr(user, name) for name in USER_FIELDS))


async def display_names(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    """Names to show beside objectives (full name, else username); unknown ids are left out."""
    return await repository.display_names(session, sorted(set(user_ids)))


def display_name(user: User | None) -> str | None:
    if user is None:
        return None
    return user.full_name or user.username


async def user_exists(session: AsyncSession, username: str) -> bool:
    return await repository.get_user_by_username(session, username) is not None


async def insert_admin(session: AsyncSession, username: str, password_hash: str) -> bool:
    """The first admin; False if the username was taken meanwhile."""
    values = {
        "username": username,
        "full_name": "Administrator",
        "role": Role.ADMIN.value,
        "password_hash": password_hash,
    }
    created = await repository.insert_user(session, values)
    if created is not None:
        await record(session, EventKind.USER_CREATED, Origin(None, None), user_id=created.id)
    return created is not None
