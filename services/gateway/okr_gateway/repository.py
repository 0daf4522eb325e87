"""Every SQL statement of the gateway (the identity schema). Repositories never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway.models import User, WriteCount


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def users_by_id(session: AsyncSession, user_ids: list[int]) -> dict[int, User]:
    rows = await session.execute(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in rows.scalars()}


async def active_users_by_username(session: AsyncSession, usernames: list[str]) -> dict[str, User]:
    statement = select(User).where(User.username.in_(usernames), User.is_active)
    return {user.username: user for user in (await session.scalars(statement)).all()}


async def display_names(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    rows = await session.execute(
        select(User.id, func.coalesce(func.nullif(User.full_name, ""), User.username)).where(
            User.id.in_(user_ids)
        )
    )
    return {user_id: name for user_id, name in rows}


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()


async def insert_user(session: AsyncSession, values: dict[str, Any]) -> User | None:
    """The new user, or None when the username is taken."""
    statement = (
        pg_insert(User).values(**values).on_conflict_do_nothing(index_elements=[User.username])
    )
    return (await session.execute(statement.returning(User))).scalar_one_or_none()


async def list_users(
    session: AsyncSession, filters: dict[str, Any], skip: int, limit: int
) -> tuple[list[User], int]:
    conditions = [
        getattr(User, name) == value for name, value in filters.items() if value is not None
    ]
    rows = await session.execute(
        select(User, func.count().over())
        .where(*conditions)
        .order_by(User.id)
        .offset(skip)
        .limit(limit)
    )
    found = rows.all()
    if found:
        return [user for user, _ in found], int(found[0][1])
    total = await session.scalar(select(func.count()).select_from(User).where(*conditions))
    return [], int(total or 0)


CHANGED_USERS = "okr_changed_users"  # session.info: ids of users changed in its transaction


def changed_user(session: AsyncSession, user_id: int) -> None:
    """Note a change of a user, for this process's identities to forget it on commit (other
    processes hear of it from the database's announcement)."""
    session.info.setdefault(CHANGED_USERS, set()).add(user_id)


async def update_user(
    session: AsyncSession, user_id: int, values: dict[str, Any], *, end_tokens: bool = False
) -> User | None:
    """`end_tokens`: every token issued to the user before now stops working."""
    changed_user(session, user_id)
    if end_tokens:
        values = {**values, "token_generation": User.token_generation + 1}
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(**values, updated_at=func.now())
        .returning(User)
        # The caller's own User may already be in the session: refresh it, not return it stale.
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def count_write(session: AsyncSession, user_id: int) -> tuple[int, float]:
    """Count one write in the user's current minute: (writes so far, seconds left in it)."""
    window = func.date_trunc("minute", func.now())
    new_row = pg_insert(WriteCount).values(user_id=user_id, window_start=window, count=1)
    statement = new_row.on_conflict_do_update(
        index_elements=[WriteCount.user_id, WriteCount.window_start],
        set_={"count": WriteCount.count + 1},
    ).returning(
        WriteCount.count,
        func.extract("epoch", WriteCount.window_start + text("interval '1 minute'") - func.now()),
    )
    count, seconds_left = (await session.execute(statement)).one()
    if count == 1:  # the first write of a minute: forget minutes long gone
        await session.execute(
            delete(WriteCount).where(
                WriteCount.user_id == user_id,
                WriteCount.window_start < func.now() - text("interval '1 hour'"),
            )
        )
    return int(count), float(seconds_left)
