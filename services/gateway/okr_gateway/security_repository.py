"""SQL of the sign-in throttle and of the security log. Never commits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway.models import SecurityEvent, SignInFailures

# A counter with no failure for this long starts again from zero, and its row goes.
FORGET_AFTER = timedelta(hours=1)

ThrottleKey = tuple[str, str]  # ("account", username) or ("address", client address)


async def seconds_locked(session: AsyncSession, keys: list[ThrottleKey]) -> float:
    """How long the longest lock among `keys` still lasts (0: none is locked)."""
    left = await session.scalar(
        select(func.max(func.extract("epoch", SignInFailures.locked_until - func.now()))).where(
            tuple_(SignInFailures.kind, SignInFailures.key).in_(keys),
            SignInFailures.locked_until > func.now(),
        )
    )
    return float(left or 0)


async def count_failure(session: AsyncSession, key: ThrottleKey) -> int:
    """One more failure for the key (after a quiet FORGET_AFTER, the first again): the count."""
    kind, name = key
    count = await session.scalar(
        pg_insert(SignInFailures)
        .values(kind=kind, key=name, failures=1, last_failed_at=func.now())
        .on_conflict_do_update(
            index_elements=[SignInFailures.kind, SignInFailures.key],
            set_={
                "failures": case(
                    (SignInFailures.last_failed_at < func.now() - literal(FORGET_AFTER), 1),
                    else_=SignInFailures.failures + 1,
                ),
                "last_failed_at": func.now(),
            },
        )
        .returning(SignInFailures.failures)
    )
    if count == 1:  # a new or forgotten counter: forget others long quiet too
        await session.execute(
            delete(SignInFailures).where(
                SignInFailures.last_failed_at < func.now() - literal(FORGET_AFTER),
                or_(
                    SignInFailures.locked_until.is_(None),
                    SignInFailures.locked_until < func.now(),
                ),
            )
        )
    return int(count or 0)


async def lock(session: AsyncSession, key: ThrottleKey, seconds: int) -> None:
    kind, name = key
    await session.execute(
        update(SignInFailures)
        .where(SignInFailures.kind == kind, SignInFailures.key == name)
        .values(locked_until=func.now() + literal(timedelta(seconds=seconds)))
    )


async def forget_failures(session: AsyncSession, key: ThrottleKey) -> None:
    kind, name = key
    await session.execute(
        delete(SignInFailures).where(SignInFailures.kind == kind, SignInFailures.key == name)
    )


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> None:
    session.add(SecurityEvent(**values))
    await session.flush()


async def list_events(
    session: AsyncSession, kind: str | None, user_id: int | None, skip: int, limit: int
) -> tuple[list[SecurityEvent], int]:
    conditions: list[Any] = []
    if kind is not None:
        conditions.append(SecurityEvent.kind == kind)
    if user_id is not None:
        conditions.append(or_(SecurityEvent.user_id == user_id, SecurityEvent.actor_id == user_id))
    rows = (
        await session.execute(
            select(SecurityEvent, func.count().over())
            .where(*conditions)
            .order_by(SecurityEvent.id.desc())
            .offset(skip)
            .limit(limit)
        )
    ).all()
    if rows:
        return [event for event, _ in rows], int(rows[0][1])
    total = await session.scalar(select(func.count()).select_from(SecurityEvent).where(*conditions))
    return [], int(total or 0)
