"""Models every contract uses: who is asking, and the envelope of an event."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

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
    metrics_url: str | None = None  # where Prometheus scrapes this instance; None: not served


class ConsumerLag(Contract):
    """A durable consumer's backlog: shared by every replica that pulls from it."""

    stream: str
    durable: str
    pending: int  # in the stream, not yet delivered
    unacknowledged: int  # delivered, not yet acknowledged


class ServiceStatus(Contract):
    """What `okr status` shows of one instance, besides its ping."""

    instance: str
    consumers: list[ConsumerLag] = []
    outbox_backlog: int | None = None  # events committed and not yet published


class Page(Contract, Generic[T]):
    """A slice of a list: `GET` endpoints answer `{"items", "total", "skip", "limit"}`."""

    items: list[T]
    total: int
    skip: int
    limit: int


class PartialUpdate(BaseModel):
    """Base of a `PUT` body: every field optional, unknown fields refused, and a field left out
    is not a field set to null. Only the fields in `nullable` may be set to null; `version`
    makes the update conditional."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> Self:
        allowed = self.nullable | {"version"}
        cleared = sorted(n for n in self.model_fields_set - allowed if getattr(self, n) is None)
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null; leave the field out to keep it")
        return self

    @model_serializer(mode="wrap")
    def _only_what_was_sent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """On its way to a service, a field left out must stay left out (not become null)."""
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    def changes(self) -> dict[str, Any]:
        """The fields the request sets, except the version it is conditional on."""
        return {name: getattr(self, name) for name in self.model_fields_set - {"version"}}
