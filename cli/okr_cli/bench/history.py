"""What the progress history costs: the points it writes per KPI value ingested.

A value moves its objective and every ancestor, but the progress service writes each objective
a batch changed once, so the figure depends on how many values a batch carries and how many of
them share objectives: the bench's tree (100 KPIs on the 10 people of one team) is the best
case, and one point per level of the tree per value (4) the worst."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def points(engine: AsyncEngine) -> int:
    """Rows of the progress history now (the whole table: the bench's system is its own)."""
    async with engine.connect() as db:
        return int(await db.scalar(text("SELECT count(*) FROM progress.history")) or 0)
