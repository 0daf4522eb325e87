"""Identity use cases: sign-in, users, the first admin. Plain async functions over a session."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import repository
from okr_gateway.errors import Unauthorized
from okr_gateway.models import User
from okr_gateway.schemas import UserCreate, UserUpdate
from okr_gateway.security import hash_password, verify_password
from okr_shared.contracts.common import Role
from okr_shared.errors import Conflict, Invalid, NotFound

WRONG_CREDENTIALS = "incorrect username or password"


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = await repository.get_user_by_username(session, username)
    password_ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        raise Unauthorized(WRONG_CREDENTIALS)
    return user


async def active_user(session: AsyncSession, user_id: int) -> User:
    user = await repository.get_user(session, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the token's user no longer exists or is deactivated; sign in again")
    return user


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    values = data.model_dump(exclude={"password"})
    values["role"] = data.role.value
    values["password_hash"] = await hash_password(data.password.get_secret_value())
    user = await repository.insert_user(session, values)
    if user is None:
        raise Conflict(f"username {data.username!r} is already taken")
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


async def update_user(session: AsyncSession, actor: User, user_id: int, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"password", "role", "is_active"})
    if data.role is not None:
        changes["role"] = data.role.value
    if data.is_active is not None:
        changes["is_active"] = data.is_active
    if data.password is not None:
        changes["password_hash"] = await hash_password(data.password.get_secret_value())
    if user_id == actor.id and (
        changes.get("is_active") is False
        or changes.get("role", Role.ADMIN.value) != Role.ADMIN.value
    ):
        raise Conflict("you cannot deactivate or demote yourself; ask another admin")
    if not changes:
        return await get_user(session, user_id)
    user = await repository.update_user(session, user_id, changes)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def deactivate_user(session: AsyncSession, actor: User, user_id: int) -> None:
    if user_id == actor.id:
        raise Conflict("you cannot deactivate yourself; ask another admin")
    if await repository.update_user(session, user_id, {"is_active": False}) is None:
        raise NotFound(f"user {user_id} not found")


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


async def display_name(session: AsyncSession, user_id: int) -> str | None:
    user = await repository.get_user(session, user_id)
    if user is None:
        return None
    return user.full_name or user.username


async def ensure_admin(session: AsyncSession, username: str, password: str | None) -> str | None:
    """Create the first admin if there is no such user yet.

    Returns the generated password when none was configured and the admin was created now,
    else None. An existing admin is never changed: its password is whatever it was set to.
    """
    if await repository.get_user_by_username(session, username) is not None:
        return None
    generated = None if password else secrets.token_urlsafe(12)
    values = {
        "username": username,
        "full_name": "Administrator",
        "role": Role.ADMIN.value,
        "password_hash": await hash_password(password or generated or ""),
    }
    created = await repository.insert_user(session, values)
    return generated if created is not None else None
