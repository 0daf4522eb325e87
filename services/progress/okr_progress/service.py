"""Use cases of the progress service: plain async functions over a session."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from okr_progress import repository
from okr_shared.contracts.objectives import ObjectiveCreated, ObjectiveState


async def apply_objective_events(session: AsyncSession, events: Iterable[ObjectiveCreated]) -> None:
    """Fold a batch of objective events into the projection: the newest version of each wins."""
    newest: dict[int, ObjectiveState] = {}
    for event in events:
        state = event.objective
        held = newest.get(state.id)
        if held is None or held.version < state.version:
            newest[state.id] = state
    await repository.upsert_objectives(session, list(newest.values()))
