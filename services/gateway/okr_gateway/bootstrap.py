"""The first admin: created once, with a configured or a generated password."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_gateway import service
from okr_shared.private_files import write_private

ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password


@dataclass(frozen=True)
class AdminLogin:
    username: str
    generated_password: str | None  # set only on the start that created the admin
    password_file: Path | None  # where a generated password was kept


async def bootstrap_admin(
    sessions: async_sessionmaker[AsyncSession], username: str, password: str | None, data_dir: Path
) -> AdminLogin:
    async with sessions.begin() as db:
        generated = await service.ensure_admin(db, username, password)
    password_file = data_dir / ADMIN_PASSWORD_FILE
    if generated is not None:
        write_private(password_file, generated)
    return AdminLogin(username, generated, password_file if password_file.exists() else None)
