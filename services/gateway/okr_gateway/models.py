"""The identity schema: users. Owned by the gateway, read by nobody else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from okr_gateway import SCHEMA


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA.schema)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'manager', 'employee', 'integration')", name="ck_users_role"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WriteCount(Base):
    """Writes per user per calendar minute, for the write rate limit. Shared by every gateway
    replica, so the limit holds however many of them run."""

    __tablename__ = "write_counts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Integration(Base):
    """A system that sends KPI values, with an identity of its own: NATS credentials (checked
    by the auth callout, okr_gateway/nats_access.py) and a user of role `integration` that
    cannot sign in with a password. Revoked, never deleted: its values keep naming it."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # SHA-256 of its NATS password: 32 random bytes need no slow hash, and a connect is checked
    # on every (re)connection.
    nats_secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    connections: Mapped[int] = mapped_column(BigInteger, default=0)
