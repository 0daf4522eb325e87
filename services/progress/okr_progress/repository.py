"""Every SQL statement of the progress service. Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_progress.models import LinkNode, ObjectiveNode
from okr_shared.contracts.objective_events import LinkState, ObjectiveState

# PostgreSQL takes at most 32,767 parameters per statement; 7 per row leaves room for 4,000.
ROWS_PER_STATEMENT = 4000


async def upsert_objectives(session: AsyncSession, states: Sequence[ObjectiveState]) -> None:
    """One statement for the whole batch; a row changes only when the event is newer."""
    if not states:
        return
    rows = [
        {
            "id": s.id,
            "parent_id": s.parent_id,
            "level": s.level.value,
            "status": s.status.value,
            "manual_progress": s.manual_progress,
            "deleted": s.deleted,
            "version": s.version,
        }
        for s in states
    ]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        statement = insert(ObjectiveNode).values(rows[start : start + ROWS_PER_STATEMENT])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ObjectiveNode.id],
                set_={c: statement.excluded[c] for c in rows[0] if c != "id"},
                where=ObjectiveNode.version < statement.excluded.version,
            )
        )


async def upsert_links(session: AsyncSession, links: Sequence[LinkState]) -> None:
    if not links:
        return
    rows = [link.model_dump() for link in links]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        statement = insert(LinkNode).values(rows[start : start + ROWS_PER_STATEMENT])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[LinkNode.objective_id, LinkNode.kpi_id],
                set_={
                    "weight": statement.excluded.weight,
                    "active": statement.excluded.active,
                    "version": statement.excluded.version,
                },
                where=LinkNode.version < statement.excluded.version,
            )
        )


async def get_node(session: AsyncSession, objective_id: int) -> ObjectiveNode | None:
    return (
        await session.execute(select(ObjectiveNode).where(ObjectiveNode.id == objective_id))
    ).scalar_one_or_none()
