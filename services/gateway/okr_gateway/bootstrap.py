"""The first admin: created once, with a configured or a generated password."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_gateway import service
from okr_gateway.security import PasswordHashing
from okr_shared.private_files import ADMIN_PASSWORD_FILE, write_private


@dataclass(frozen=True)
class AdminLogin:
    username: str
    generated_password: str | None  # set only on the start that created the admin
    password_file: Path | None  # where a generated password was kept


async def bootstrap_admin(
    sessions: async_sessionmaker[AsyncSession],
    username: str,
    password: str | None,
    data_dir: Path,
    passwords: PasswordHashing | None = None,
) -> AdminLogin:
    """Create the first admin if there is no such user yet. An existing admin is never changed:
    its password is whatever it was set to."""
    hashing = passwords or PasswordHashing(1)
    generated = await _create_admin(sessions, hashing, username, password)
    password_file = data_dir / ADMIN_PASSWORD_FILE
    if generated is not None:
        write_private(password_file, generated)
    return AdminLogin(username, generated, password_file if password_file.exists() else None)


async def _create_admin(
    sessions: async_sessionmaker[AsyncSession],
    passwords: PasswordHashing,
    username: str,
    password: str | None,
) -> str | None:
    """The generated password when none was configured and the admin was created now."""
    async with sessions() as db:
        if await service.user_exists(db, username):
            return None
    generated = None if password else secrets.token_urlsafe(12)
    password_hash = await passwords.hash(password or generated or "")  # no connection held
    async with sessions.begin() as db:
        created = await service.insert_admin(db, username, password_hash)
    return generated if created else None
