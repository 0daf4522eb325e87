"""Closed periods freeze their objectives: a graded objective and its links refuse writes
(409, naming the period), and no objective enters a closed period ungraded (a create, an
import, a restore, or an update to its year or quarter)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import period_repository
from okr_objectives.models import Objective
from okr_objectives.period_repository import YEAR
from okr_shared.contracts.periods import period_name
from okr_shared.errors import Conflict


async def ensure_not_frozen(session: AsyncSession, objective: Objective) -> None:
    if objective.grade is None:
        return
    closed = await closed_periods(session)
    name = period_name(
        objective.year, None if (objective.year, YEAR) in closed else objective.quarter
    )
    raise Conflict(
        f"objective {objective.id} is graded and frozen: the period {name} is closed "
        "(an admin may reopen it)"
    )


async def ensure_open(session: AsyncSession, periods: Iterable[tuple[int, str | None]]) -> None:
    """`periods`: (year, quarter or None) of objectives about to be live."""
    closed = await closed_periods(session)
    for year, quarter in periods:
        refused = closed_one(closed, year, quarter)
        if refused is not None:
            raise Conflict(f"the period {refused} is closed (an admin may reopen it)")


def closed_one(closed: set[tuple[int, str]], year: int, quarter: str | None) -> str | None:
    """The name of the closed period an objective of (year, quarter) would be in, if any."""
    if (year, YEAR) in closed:
        return period_name(year, None)
    if quarter and (year, quarter) in closed:
        return period_name(year, quarter)
    return None


async def closed_periods(session: AsyncSession) -> set[tuple[int, str]]:
    return {(p.year, p.quarter) for p in await period_repository.closed(session)}
