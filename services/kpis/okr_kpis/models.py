"""The KPIs service's tables, private to it, in its own schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from okr_kpis import SCHEMA
from okr_shared.db import NAMING_CONVENTION
from okr_shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA.schema, naming_convention=NAMING_CONVENTION)


class Kpi(Base):
    __tablename__ = "kpis"
    __table_args__ = (
        CheckConstraint(
            "direction IN ('increase', 'decrease', 'maintain_above', 'maintain_below')",
            name="direction",
        ),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        CheckConstraint(
            "frequency IS NULL OR frequency IN ('daily', 'weekly', 'monthly', 'quarterly')",
            name="frequency",
        ),
        Index("ix_kpis_owner_id", "owner_id"),
        Index("ix_kpis_department", "department"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(BigInteger)
    department: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(50), default="")
    direction: Mapped[str] = mapped_column(String(16))
    baseline_value: Mapped[float] = mapped_column(Double)
    target_value: Mapped[float] = mapped_column(Double)
    current_value: Mapped[float | None] = mapped_column(Double)
    current_observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[str | None] = mapped_column(String(2))
    frequency: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    progress_percentage: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)


class KpiValue(Base):
    """Every value ever accepted, once: the idempotency key is unique per KPI and sender, so
    no sender can use up another's keys."""

    __tablename__ = "kpi_values"
    __table_args__ = (
        Index("ix_kpi_values_kpi_id_observed_at", "kpi_id", "observed_at"),
        Index(
            "uq_kpi_values_kpi_id_source_idempotency_key",
            "kpi_id",
            "source",
            "idempotency_key",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id"))
    value: Mapped[float] = mapped_column(Double)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Who sent it, from the subject (okr_shared.subjects.parse_value_subject); the payload's
    # own `source` is kept apart as a label, so no sender can pass for another.
    source: Mapped[str | None] = mapped_column(String(200))
    source_label: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(220))


class IngestSource(Base):
    """Values per sender, for an integration's page: one upsert per sender per batch."""

    __tablename__ = "ingest_sources"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    values_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    values_refused: Mapped[int] = mapped_column(BigInteger, default=0)
    last_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_refused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
