"""Models every contract uses: who is asking, and the envelope of an event."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    EMPLOYEE = "employee"
    INTEGRATION = "integration"  # HR systems: write KPI values, read KPI definitions


class Contract(BaseModel):
    """Base of every message: immutable; readers ignore fields they do not know yet."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Actor(Contract):
    """The authenticated caller, as the gateway vouches for it on every request to a service."""

    user_id: int
    role: Role
    department: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(Contract):
    """Base of every event: its id doubles as the JetStream `Nats-Msg-Id`."""

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)


class Ping(Contract):
    pass


class ServiceInfo(Contract):
    service: str
    version: str
    instance: str
    host: str
    pid: int
    started_at: datetime


class Page(Contract, Generic[T]):
    """A slice of a list: `GET` endpoints answer `{"items", "total", "skip", "limit"}`."""

    items: list[T]
    total: int
    skip: int
    limit: int
