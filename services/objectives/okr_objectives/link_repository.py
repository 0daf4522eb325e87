"""Every SQL statement about links between objectives and KPIs. Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives.models import KpiLink, Objective
from okr_objectives.repository import LIVE, visible_to
from okr_shared.contracts.common import Actor


async def linking(session: AsyncSession, actor: Actor, kpi_id: int) -> list[Objective]:
    """Live objectives the caller may see that actively link this KPI."""
    statement = (
        select(Objective)
        .join(KpiLink, KpiLink.objective_id == Objective.id)
        .where(KpiLink.kpi_id == kpi_id, KpiLink.deleted_at.is_(None), LIVE, visible_to(actor))
        .order_by(Objective.id)
    )
    return list((await session.execute(statement)).scalars().all())


async def active_links(session: AsyncSession, objective_id: int) -> list[KpiLink]:
    statement = (
        select(KpiLink)
        .where(KpiLink.objective_id == objective_id, KpiLink.deleted_at.is_(None))
        .order_by(KpiLink.kpi_id)
    )
    return list((await session.execute(statement)).scalars().all())


async def active_links_of(session: AsyncSession, objective_ids: Sequence[int]) -> list[KpiLink]:
    """The active links of many objectives, in one statement."""
    if not objective_ids:
        return []
    statement = (
        select(KpiLink)
        .where(KpiLink.objective_id.in_(objective_ids), KpiLink.deleted_at.is_(None))
        .order_by(KpiLink.objective_id, KpiLink.kpi_id)
    )
    return list((await session.execute(statement)).scalars().all())


async def get_link(session: AsyncSession, objective_id: int, kpi_id: int) -> KpiLink | None:
    statement = select(KpiLink).where(
        KpiLink.objective_id == objective_id, KpiLink.kpi_id == kpi_id
    )
    return (await session.execute(statement.with_for_update())).scalar_one_or_none()


async def upsert_link(
    session: AsyncSession, objective_id: int, kpi_id: int, weight: float, actor_id: int
) -> KpiLink:
    """Make the link, or bring back an unlinked one with a new weight; the version always rises."""
    statement = pg_insert(KpiLink).values(
        objective_id=objective_id, kpi_id=kpi_id, weight=weight, created_by=actor_id, version=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=[KpiLink.objective_id, KpiLink.kpi_id],
        set_={
            "weight": statement.excluded.weight,
            "version": KpiLink.version + 1,
            "deleted_at": None,
            "created_at": func.now(),
            "created_by": statement.excluded.created_by,
        },
    )
    result = await session.execute(
        statement.returning(KpiLink).execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def insert_links(session: AsyncSession, rows: list[dict[str, Any]]) -> list[KpiLink]:
    """Links of new objectives (so none exists yet), in one statement, in the order of `rows`."""
    if not rows:
        return []
    statement = insert(KpiLink).returning(KpiLink, sort_by_parameter_order=True)
    return list((await session.scalars(statement, rows)).all())


async def unlink(session: AsyncSession, objective_id: int, kpi_id: int) -> KpiLink | None:
    statement = (
        update(KpiLink)
        .where(
            KpiLink.objective_id == objective_id,
            KpiLink.kpi_id == kpi_id,
            KpiLink.deleted_at.is_(None),
        )
        .values(deleted_at=func.now(), version=KpiLink.version + 1)
        .returning(KpiLink)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def all_links(session: AsyncSession) -> list[KpiLink]:
    return list((await session.execute(select(KpiLink))).scalars().all())
