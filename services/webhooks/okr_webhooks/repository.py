"""The SQL of endpoints, their health, and what the API shows of deliveries (the delivery
machinery's own is in delivery_repository.py). Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from okr_webhooks.models import Attempt, Delivery, Endpoint

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
ENDPOINTS: Table = Endpoint.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Target:
    """An endpoint as a sender signs for it."""

    id: int
    url: str
    events: frozenset[str]
    secrets: tuple[str, ...]  # the current one, and the previous one during a rotation


TARGET_COLUMNS = (
    Endpoint.id,
    Endpoint.url,
    Endpoint.events,
    Endpoint.secret,
    Endpoint.previous_secret,
    Endpoint.previous_secret_until,
)


class Secrets(Protocol):
    """A row with an endpoint's secrets (of TARGET_COLUMNS, or a delivery claim's)."""

    @property
    def secret(self) -> str: ...
    @property
    def previous_secret(self) -> str | None: ...
    @property
    def previous_secret_until(self) -> datetime | None: ...


class TargetRow(Secrets, Protocol):
    """A row of TARGET_COLUMNS."""

    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def events(self) -> list[str]: ...


def target_of(row: TargetRow, now: datetime) -> Target:
    return Target(row.id, row.url, frozenset(row.events), signing_secrets(row, now))


def signing_secrets(row: Secrets, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while a rotation's grace lasts."""
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
        return (row.secret, row.previous_secret)
    return (row.secret,)


# --- endpoints --------------------------------------------------------------------------------


async def add_endpoint(session: AsyncSession, endpoint: Endpoint) -> Endpoint:
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def save_endpoint(session: AsyncSession) -> None:
    """Write the changes made to a loaded endpoint (an UPDATE of the columns that changed)."""
    await session.flush()


async def get_endpoint(
    session: AsyncSession, endpoint_id: int, *, lock: bool = False
) -> Endpoint | None:
    statement = select(Endpoint).where(Endpoint.id == endpoint_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_endpoints(
    session: AsyncSession, skip: int, limit: int
) -> tuple[Sequence[Endpoint], int]:
    rows = (
        await session.execute(select(Endpoint).order_by(Endpoint.id).offset(skip).limit(limit))
    ).scalars()
    total = await session.scalar(select(func.count()).select_from(Endpoint))
    return list(rows), int(total or 0)


async def delete_endpoint(session: AsyncSession, endpoint_id: int) -> bool:
    deleted = await session.execute(
        delete(Endpoint).where(Endpoint.id == endpoint_id).returning(Endpoint.id)
    )
    return deleted.first() is not None


async def target(session: AsyncSession, endpoint_id: int, now: datetime) -> Target | None:
    row = (await session.execute(select(*TARGET_COLUMNS).where(Endpoint.id == endpoint_id))).first()
    return None if row is None else target_of(row, now)


async def resume_deliveries(session: AsyncSession, endpoint_id: int) -> None:
    """An endpoint enabled again: its pending deliveries are due now, with a fresh 24 h."""
    await session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status == "pending")
        .values(next_attempt_at=func.now(), first_failed_at=None, lease=None)
    )


# --- deliveries -------------------------------------------------------------------------------


def endpoint_gone(err: IntegrityError) -> bool:
    """A delivery inserted for an endpoint that was deleted meanwhile."""
    return getattr(err.orig, "sqlstate", None) == "23503"  # foreign_key_violation


async def mark_endpoints(
    session: AsyncSession,
    recovered: Sequence[int],
    failing: dict[int, datetime],
    restarted: dict[int, datetime],
) -> None:
    """`recovered` endpoints answered last with a success; `failing` ones failed (since the
    time given, unless they were failing already); `restarted` ones succeeded and then failed
    in one batch, so their failing starts again at the time given."""
    if recovered:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id.in_(recovered), Endpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
    connection = await session.connection()
    if failing:
        await connection.execute(
            update(ENDPOINTS)
            .where(ENDPOINTS.c.id == bindparam("eid"), ENDPOINTS.c.failing_since.is_(None))
            .values(failing_since=bindparam("since")),
            [{"eid": k, "since": v} for k, v in failing.items()],
        )
    if restarted:
        await connection.execute(
            update(ENDPOINTS)
            .where(ENDPOINTS.c.id == bindparam("eid"))
            .values(failing_since=bindparam("since")),
            [{"eid": k, "since": v} for k, v in restarted.items()],
        )


async def disable_failing(
    session: AsyncSession, reasons: dict[int, str], failing_before: datetime
) -> list[int]:
    """Disable those of these endpoints that have failed since before `failing_before`."""
    disabled = []
    for endpoint_id, reason in reasons.items():  # a few endpoints at most, in one batch
        found = await session.execute(
            update(Endpoint)
            .where(
                Endpoint.id == endpoint_id,
                Endpoint.enabled,
                Endpoint.failing_since <= failing_before,
            )
            .values(
                enabled=False, disabled_reason=reason, disabled_at=func.now(), updated_at=func.now()
            )
            .returning(Endpoint.id)
        )
        disabled += [r.id for r in found]
    return disabled


async def deliveries_of(
    session: AsyncSession, endpoint_id: int, status: str | None, skip: int, limit: int
) -> tuple[Sequence[Delivery], dict[int, list[Attempt]]]:
    """A page of an endpoint's deliveries, newest first, with their attempts."""
    statement = select(Delivery).where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    found = list(
        (
            await session.execute(statement.order_by(Delivery.id.desc()).offset(skip).limit(limit))
        ).scalars()
    )
    attempts: dict[int, list[Attempt]] = {d.id: [] for d in found}
    if found:
        rows = await session.execute(
            select(Attempt)
            .where(Attempt.delivery_id.in_(attempts))
            .order_by(Attempt.delivery_id, Attempt.attempt.desc())
        )
        for attempt in rows.scalars():
            attempts[attempt.delivery_id].append(attempt)
    return found, attempts


async def delivery_with_attempts(
    session: AsyncSession, delivery_id: int
) -> tuple[Delivery, list[Attempt]]:
    found = (await session.execute(select(Delivery).where(Delivery.id == delivery_id))).scalar_one()
    attempts = await session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.attempt.desc())
    )
    return found, list(attempts.scalars())
