"""The objectives service's tables, private to it, in its own schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from okr_objectives import SCHEMA
from okr_shared.db import NAMING_CONVENTION
from okr_shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA.schema, naming_convention=NAMING_CONVENTION)


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (
        CheckConstraint("level IN ('company', 'division', 'team', 'individual')", name="level"),
        CheckConstraint("status IN ('active', 'completed', 'abandoned', 'on_hold')", name="status"),
        CheckConstraint("quarter IS NULL OR quarter IN ('Q1', 'Q2', 'Q3', 'Q4')", name="quarter"),
        CheckConstraint("end_date >= start_date", name="dates"),
        CheckConstraint("progress_percentage BETWEEN 0 AND 100", name="progress"),
        Index("ix_objectives_parent_id", "parent_id"),
        Index("ix_objectives_owner_id", "owner_id"),
        Index("ix_objectives_department", "department"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    level: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    department: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[str | None] = mapped_column(String(2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # What readers see: the rollup's value once the progress service has computed one, else the
    # manual progress. `manual_progress` is what PUT sets; it counts when nothing drives it.
    progress_percentage: Mapped[float] = mapped_column(Double, default=0.0)
    manual_progress: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    # The version of the newest rollup applied: an older update arriving late changes nothing.
    progress_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The newest check-in as readers see it (a CheckIn's JSON), kept here so that every read
    # of an objective has it without a join; check_ins holds them all.
    last_check_in: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Set when its period closes (progress / 100, two decimals): it is frozen while set.
    grade: Mapped[float | None] = mapped_column(Double)
    # Rises with every grading and ungrading: consumers apply the newest, whatever the order.
    grade_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Period(Base):
    """A year (`quarter` '') or a quarter that has been closed at least once: closed while
    `closed_at` is set. A period never closed has no row and is open."""

    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("quarter IN ('', 'Q1', 'Q2', 'Q3', 'Q4')", name="quarter"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quarter: Mapped[str] = mapped_column(String(2), primary_key=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(BigInteger)


class CheckInRow(Base):
    """A check-in: how the objective goes, said by someone who may update it."""

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint("status IN ('on_track', 'at_risk', 'off_track')", name="status"),
        CheckConstraint("confidence BETWEEN 0 AND 10", name="confidence"),
        Index("ix_check_ins_objective_id", "objective_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"))
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    progress_percentage: Mapped[float] = mapped_column(Double)
    author_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KpiLink(Base):
    """A weighted link from an objective to a KPI. Unlinking keeps the row (with `deleted_at`)
    so that its version keeps rising: a consumer can order link, unlink and relink."""

    __tablename__ = "objective_kpis"
    __table_args__ = (
        CheckConstraint("weight > 0 AND weight <= 1", name="weight"),
        Index("ix_objective_kpis_kpi_id", "kpi_id"),
    )

    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"), primary_key=True)
    kpi_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    weight: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who changed what, when: one row per objective a change touched."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_objective_id", "objective_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    objective_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # {field: [old, new]}; a link change names the KPI: {"kpi:7": [old weight, new weight]}.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


outbox = outbox_table(Base.metadata)
