"""Periods: closing one grades every live objective of it (progress / 100, two decimals) and
freezes them; reopening unfreezes them, and the progress service recomputes their progress.
Both are single statements over the period, whatever its size, and events of a few thousand
objectives each tell the other services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import period_repository, repository
from okr_objectives.models import Period as PeriodRow
from okr_objectives.period_repository import YEAR
from okr_objectives.permissions import ensure_objectives_role
from okr_shared import subjects
from okr_shared.contracts.common import Actor, utcnow
from okr_shared.contracts.objective_events import (
    GradedObjective,
    ObjectivesGraded,
    ObjectivesReopened,
    ReopenedObjective,
)
from okr_shared.contracts.objective_rpc import ListPeriods, ObjectiveWrite, PeriodRequest
from okr_shared.contracts.objectives import ObjectiveLevel, Quarter
from okr_shared.contracts.periods import Period, PeriodState, period_name
from okr_shared.errors import Conflict, Forbidden
from okr_shared.outbox import Outbox

EVENT_BATCH = 5_000  # objectives per event: about 300 KB, well under a NATS message's 1 MiB


async def _begin(session: AsyncSession, request: PeriodRequest, action: str) -> tuple[str, str]:
    """An admin's change of a period, under the tree lock (no create, move, delete or restore
    meanwhile: nothing enters the period ungraded): its quarter column and its name."""
    if not request.actor.is_admin:
        raise Forbidden(f"only an admin can {action} a period")
    await repository.lock_tree(session)
    quarter = request.quarter.value if request.quarter else YEAR
    return quarter, period_name(request.year, request.quarter)


async def close_period(
    session: AsyncSession, outbox: Outbox, request: PeriodRequest
) -> ObjectiveWrite[Period]:
    actor, year = request.actor, request.year
    quarter, name = await _begin(session, request, "close")
    if quarter != YEAR and await _closed(session, year, YEAR):
        raise Conflict(f"the year {year} is closed, and {name} with it")
    if await _closed(session, year, quarter, lock=True):
        raise Conflict(f"the period {name} is already closed")
    await period_repository.set_closed(session, year, quarter, utcnow(), actor.user_id)
    graded = await period_repository.grade(session, year, quarter, actor.user_id)
    events = [
        ObjectivesGraded(
            year=year,
            quarter=request.quarter,
            objectives=[
                GradedObjective(id=i, progress_percentage=p, grade=g, version=v)
                for i, p, g, v in graded[start : start + EVENT_BATCH]
            ],
        )
        for start in range(0, len(graded), EVENT_BATCH)
    ]
    await outbox.add(session, subjects.OBJECTIVE_GRADED, events)
    return ObjectiveWrite(result=await _one(session, actor, year, request.quarter), events=events)


async def reopen_period(
    session: AsyncSession, outbox: Outbox, request: PeriodRequest
) -> ObjectiveWrite[Period]:
    actor, year = request.actor, request.year
    quarter, name = await _begin(session, request, "reopen")
    if quarter != YEAR and await _closed(session, year, YEAR):
        raise Conflict(f"the year {year} is closed: reopen it before {name}")
    if not await _closed(session, year, quarter, lock=True):
        raise Conflict(f"the period {name} is not closed")
    await period_repository.set_closed(session, year, quarter, None, None)
    still_closed = [p.quarter for p in await period_repository.closed(session) if p.year == year]
    ungraded = await period_repository.ungrade(session, year, quarter, still_closed, actor.user_id)
    events = [
        ObjectivesReopened(
            year=year,
            quarter=request.quarter,
            objectives=[
                ReopenedObjective(id=i, version=v) for i, v in ungraded[start : start + EVENT_BATCH]
            ],
        )
        for start in range(0, len(ungraded), EVENT_BATCH)
    ]
    await outbox.add(session, subjects.OBJECTIVE_REOPENED, events)
    return ObjectiveWrite(result=await _one(session, actor, year, request.quarter), events=events)


async def list_periods(session: AsyncSession, request: ListPeriods) -> list[Period]:
    ensure_objectives_role(request.actor)
    return _periods(
        await period_repository.summaries(session, request.actor),
        {(p.year, p.quarter): p for p in await period_repository.all_periods(session)},
    )


async def _one(session: AsyncSession, actor: Actor, year: int, quarter: Quarter | None) -> Period:
    key = quarter.value if quarter else YEAR
    periods = _periods(
        await period_repository.summaries(session, actor),
        {(p.year, p.quarter): p for p in await period_repository.all_periods(session)},
    )
    return next(p for p in periods if p.year == year and (p.quarter or YEAR) == key)


async def _closed(session: AsyncSession, year: int, quarter: str, *, lock: bool = False) -> bool:
    held = await period_repository.period(session, year, quarter, lock=lock)
    return held is not None and held.closed_at is not None


Summary = tuple[int, str | None, str, int, int, float | None]
Tally = dict[str, tuple[int, int, float]]  # level -> (objectives, graded, sum of grades)


def _periods(
    summaries: Sequence[Summary], stored: dict[tuple[int, str], PeriodRow]
) -> list[Period]:
    """Every year with objectives or a stored state, and each of its quarters likewise: the
    newest year first, a year before its quarters."""
    tallies: dict[tuple[int, str], Tally] = {}
    for year, quarter, level, count, graded, average in summaries:
        total = (average or 0.0) * graded
        for key in ((year, YEAR), (year, quarter or YEAR)) if quarter else ((year, YEAR),):
            tally = tallies.setdefault(key, {})
            n, g, s = tally.get(level, (0, 0, 0.0))
            tally[level] = (n + count, g + graded, s + total)
    keys = set(tallies) | set(stored) | {(year, YEAR) for year, _ in stored}
    return [
        _period(year, quarter, tallies.get((year, quarter), {}), stored.get((year, quarter)))
        for year, quarter in sorted(keys, key=lambda k: (-k[0], k[1]))
    ]


def _period(year: int, quarter: str, tally: Tally, stored: PeriodRow | None) -> Period:
    closed_at: datetime | None = stored.closed_at if stored else None
    return Period(
        year=year,
        quarter=Quarter(quarter) if quarter else None,
        state=PeriodState.CLOSED if closed_at else PeriodState.OPEN,
        closed_at=closed_at,
        closed_by=stored.closed_by if stored and closed_at else None,
        objectives=sum(n for n, _, _ in tally.values()),
        graded=sum(g for _, g, _ in tally.values()),
        average_grade={
            level.value: (
                round(tally[level.value][2] / tally[level.value][1], 2)
                if tally.get(level.value, (0, 0, 0.0))[1]
                else None
            )
            for level in ObjectiveLevel
        },
    )
