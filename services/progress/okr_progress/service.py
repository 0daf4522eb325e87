"""Use cases of the progress service: plain async functions over a session."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from okr_progress import repository
from okr_shared.contracts.objective_events import (
    LinkState,
    ObjectiveEvent,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectivesDeleted,
    ObjectivesRestored,
    ObjectiveState,
)


async def apply_objective_events(session: AsyncSession, events: Iterable[ObjectiveEvent]) -> None:
    """Fold a batch of objective events into the projection: the newest version of each
    objective and of each link wins, whatever order the events came in."""
    objectives: dict[int, ObjectiveState] = {}
    links: dict[tuple[int, int], LinkState] = {}
    for event in events:
        if isinstance(event, ObjectiveKpiLinked | ObjectiveKpiUnlinked):
            key = (event.link.objective_id, event.link.kpi_id)
            if key not in links or links[key].version < event.link.version:
                links[key] = event.link
            continue
        states = (
            event.objectives
            if isinstance(event, ObjectivesDeleted | ObjectivesRestored)
            else [event.objective]
        )
        for state in states:
            if state.id not in objectives or objectives[state.id].version < state.version:
                objectives[state.id] = state
    await repository.upsert_objectives(session, list(objectives.values()))
    await repository.upsert_links(session, list(links.values()))
