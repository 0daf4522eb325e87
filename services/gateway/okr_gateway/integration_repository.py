"""Every SQL statement about integrations (the identity schema). Repositories never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import repository
from okr_gateway.models import Integration, User


async def insert(session: AsyncSession, values: dict[str, Any]) -> Integration | None:
    """The new integration, or None when its name is taken."""
    statement = (
        pg_insert(Integration)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Integration.name])
        .returning(Integration)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get(session: AsyncSession, integration_id: int) -> Integration | None:
    return await session.get(Integration, integration_id)


async def by_user(session: AsyncSession, user_id: int) -> Integration | None:
    statement = select(Integration).where(Integration.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_all(session: AsyncSession) -> list[Integration]:
    return list((await session.execute(select(Integration).order_by(Integration.id))).scalars())


async def for_connect(
    session: AsyncSession, integration_id: int, *, lock: bool
) -> tuple[Integration, bool] | None:
    """The integration and whether its user is active; with `lock`, locked until the answer to
    the NATS server is sent: a revocation waits for it, so its sweep finds the connection."""
    statement = (
        select(Integration, User.is_active)
        .join(User, User.id == Integration.user_id)
        .where(Integration.id == integration_id)
    )
    if lock:  # and read again: a revocation may have come since the look without the lock
        statement = statement.with_for_update(of=Integration).execution_options(
            populate_existing=True
        )
    found = (await session.execute(statement)).one_or_none()
    return None if found is None else (found[0], bool(found[1]))


async def connected(session: AsyncSession, integration_id: int) -> None:
    await session.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(last_connected_at=func.now(), connections=Integration.connections + 1)
    )


async def revoke(session: AsyncSession, integration_id: int) -> Integration | None:
    """Mark it revoked (once: a second revocation keeps the first time) and deactivate its
    user, so its keys stop working too."""
    statement = (
        update(Integration)
        .where(Integration.id == integration_id)
        .values(revoked_at=func.coalesce(Integration.revoked_at, func.now()))
        .returning(Integration)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    integration = (await session.execute(statement)).scalar_one_or_none()
    if integration is not None:
        repository.changed_user(session, integration.user_id)
        await session.execute(
            update(User)
            .where(User.id == integration.user_id)
            .values(is_active=False, updated_at=func.now())
        )
    return integration
