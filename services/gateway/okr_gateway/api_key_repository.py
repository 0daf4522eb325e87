"""SQL of API keys. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway.models import ApiKey, ApiKeyWriteCount, User


async def insert_key(session: AsyncSession, values: dict[str, Any]) -> ApiKey:
    key = ApiKey(**values)
    session.add(key)
    await session.flush()
    await session.refresh(key)  # created_at, from the server
    return key


async def key_and_owner(session: AsyncSession, prefix: str) -> tuple[ApiKey, User] | None:
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def active_owner_key_count(session: AsyncSession, user_id: int) -> int | None:
    """The owner locked (a deactivation, which revokes their keys, waits for the new key or
    comes first and is seen) with how many current keys they hold; None if not active."""
    active = await session.scalar(
        select(User.is_active).where(User.id == user_id).with_for_update()
    )
    if not active:
        return None
    count = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.user_id == user_id,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
        )
    )
    return int(count or 0)


async def current_prefixes(session: AsyncSession, prefixes: list[str]) -> set[str]:
    """Those of `prefixes` whose key is neither revoked nor expired: one query for many."""
    statement = select(ApiKey.prefix).where(
        ApiKey.prefix.in_(prefixes),
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
    )
    return set((await session.scalars(statement)).all())


async def list_keys(
    session: AsyncSession, user_id: int | None, skip: int, limit: int
) -> tuple[list[ApiKey], int]:
    conditions = [] if user_id is None else [ApiKey.user_id == user_id]
    rows = (
        await session.execute(
            select(ApiKey, func.count().over())
            .where(*conditions)
            .order_by(ApiKey.id)
            .offset(skip)
            .limit(limit)
        )
    ).all()
    if rows:
        return [key for key, _ in rows], int(rows[0][1])
    total = await session.scalar(select(func.count()).select_from(ApiKey).where(*conditions))
    return [], int(total or 0)


async def get_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    """Revoke the key (once: a second revocation keeps the first time)."""
    return (
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
            .returning(ApiKey)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
    ).scalar_one_or_none()


async def revoke_keys_of(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey.id)
        .execution_options(synchronize_session=False)
    )
    return [key_id for (key_id,) in rows]


async def mark_used(session: AsyncSession, key_id: int) -> None:
    """Now, unless another request did so in the last minute (not a write per request)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < func.now() - text("interval '1 minute'"),
            ),
        )
        .values(last_used_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def count_key_write(session: AsyncSession, key_id: int) -> tuple[int, float]:
    """Count one write in the key's current minute: (writes so far, seconds left in it)."""
    window = func.date_trunc("minute", func.now())
    new_row = pg_insert(ApiKeyWriteCount).values(key_id=key_id, window_start=window, count=1)
    statement = new_row.on_conflict_do_update(
        index_elements=[ApiKeyWriteCount.key_id, ApiKeyWriteCount.window_start],
        set_={"count": ApiKeyWriteCount.count + 1},
    ).returning(
        ApiKeyWriteCount.count,
        func.extract(
            "epoch", ApiKeyWriteCount.window_start + text("interval '1 minute'") - func.now()
        ),
    )
    count, seconds_left = (await session.execute(statement)).one()
    if count == 1:  # the first write of a minute: forget minutes long gone
        await session.execute(
            delete(ApiKeyWriteCount).where(
                ApiKeyWriteCount.key_id == key_id,
                ApiKeyWriteCount.window_start < func.now() - text("interval '1 hour'"),
            )
        )
    return int(count), float(seconds_left)
