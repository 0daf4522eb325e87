"""The identity schema: users, their API keys, sign-in throttling and the security log. Owned by
the gateway, read by nobody else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
    # Every token carries the generation it was issued in; a sign-out, a password change or
    # reset and a deactivation move it on, which ends every token issued before. A counter, not
    # a time: a token's `iat` has whole seconds, and one issued in the same second as a sign-out
    # would survive a comparison of times.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WriteCount(Base):
    """Writes per user per calendar minute, for the write rate limit. Shared by every gateway
    replica, so the limit holds however many of them run."""

    __tablename__ = "write_counts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """A key for programs: `okr_<prefix>_<secret>`, of which only a SHA-256 digest is kept.
    The secret is 256 random bits, so a fast digest is as safe as a slow hash and costs
    nothing per request; the prefix finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKeyWriteCount(Base):
    """Writes per API key per calendar minute: the keys' own rate limit, apart from people's."""

    __tablename__ = "api_key_write_counts"

    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class SignInFailures(Base):
    """Failed sign-ins per account (the username as typed, known or not) and per client address,
    and until when each is locked. In PostgreSQL, so that every gateway replica counts alike."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        CheckConstraint("kind IN ('account', 'address')", name="ck_sign_in_failures_kind"),
        Index("ix_sign_in_failures_last_failed_at", "last_failed_at"),
    )

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SecurityEvent(Base):
    """The security log: sign-ins, sign-outs, password and key changes. Never a secret: not a
    password, not a key, not a token; a username typed at a failed sign-in only when it names a
    user (an unknown one may be a password typed in the wrong field)."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_kind_id", "kind", "id"),
        Index("ix_security_events_user_id", "user_id"),
        Index("ix_security_events_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # who did it
    user_id: Mapped[int | None] = mapped_column(BigInteger)  # whose account it concerns
    username: Mapped[str | None] = mapped_column(String(50))
    client_address: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(String(200), default="")


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
