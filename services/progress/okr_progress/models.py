"""The progress service's own projection, built only from events, in its own schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Double, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from okr_progress import SCHEMA
from okr_shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA.schema)


class ObjectiveNode(Base):
    """One objective as rollup sees it: its place in the tree and its own (manual) progress.

    `version` is the objectives service's: an event older than what is stored changes nothing,
    so redelivered and reordered events are harmless.
    """

    __tablename__ = "objectives"
    __table_args__ = (Index("ix_objectives_parent_id", "parent_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    manual_progress: Mapped[float] = mapped_column(Double)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    # The rollup, computed here; `progress_version` rises whenever any of it changes.
    progress: Mapped[float | None] = mapped_column(Double)
    calculation_method: Mapped[str | None] = mapped_column(String(16))
    child_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kpi_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_calculated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Its period is closed: its progress stays as graded, whatever its children and KPIs do.
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    graded_progress: Mapped[float | None] = mapped_column(Double)  # what it froze at
    # The objectives service's version of the grade: the newest grading or reopening wins.
    grade_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LinkNode(Base):
    """A weighted link from an objective to a KPI, as of the newest event about it."""

    __tablename__ = "links"
    __table_args__ = (Index("ix_links_kpi_id", "kpi_id"),)

    objective_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kpi_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    weight: Mapped[float] = mapped_column(Double)
    active: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)


class KpiNode(Base):
    """A KPI's progress as of the newest kpi.progress_changed: null until it has a value."""

    __tablename__ = "kpis"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    progress: Mapped[float | None] = mapped_column(Double)
    active: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)


outbox = outbox_table(Base.metadata)


class HistoryPoint(Base):
    """One recorded rollup of an objective: written with every rollup change, then thinned out
    by age (okr_progress.history). The primary key leads with the objective for the reads and
    for compaction's "is there a later point in this hour?"; `ix_history_at` lets compaction
    walk the points in time order, a bounded batch at a time."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_at", "at", "objective_id", "version"),)

    objective_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    # The rollup's progress_version: it orders two points of one objective that share a time.
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    progress: Mapped[float] = mapped_column(Double)


class CompactionCursor(Base):
    """How far each compaction tier has got, as the key of the last point it looked at: a
    run goes on from there, so it reads each point once per tier rather than the whole table."""

    __tablename__ = "history_compaction"

    tier: Mapped[str] = mapped_column(String(8), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    objective_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
