"""Every SQL statement about check-ins. Repositories never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives.models import CheckInRow, Objective


async def insert_check_in(session: AsyncSession, values: dict[str, Any]) -> CheckInRow:
    result = await session.execute(insert(CheckInRow).values(**values).returning(CheckInRow))
    return result.scalar_one()


async def set_last_check_in(
    session: AsyncSession, objective_id: int, shown: dict[str, Any]
) -> None:
    """The objective shows its newest check-in; its version stays (a check-in is not an edit:
    an If-Match of the objective still holds)."""
    await session.execute(
        update(Objective).where(Objective.id == objective_id).values(last_check_in=shown)
    )


async def page(
    session: AsyncSession, objective_id: int, skip: int, limit: int
) -> tuple[list[CheckInRow], int]:
    """Newest first."""
    rows = await session.scalars(
        select(CheckInRow)
        .where(CheckInRow.objective_id == objective_id)
        .order_by(CheckInRow.id.desc())
        .offset(skip)
        .limit(limit)
    )
    total = await session.scalar(
        select(func.count()).select_from(CheckInRow).where(CheckInRow.objective_id == objective_id)
    )
    return list(rows.all()), int(total or 0)
