"""Every SQL statement of the objectives service. Repositories never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives.models import Objective


async def insert_objective(session: AsyncSession, values: dict[str, Any]) -> Objective:
    result = await session.execute(insert(Objective).values(**values).returning(Objective))
    return result.scalar_one()


async def get_objective(session: AsyncSession, objective_id: int) -> Objective | None:
    """A live objective (not soft-deleted), or None."""
    return (
        await session.execute(
            select(Objective).where(Objective.id == objective_id, Objective.deleted_at.is_(None))
        )
    ).scalar_one_or_none()
