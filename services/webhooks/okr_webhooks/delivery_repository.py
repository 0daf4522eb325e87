"""The delivery machinery's SQL: fan-out, leases and claims, recorded attempts, pruning.
Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from okr_shared.db import rows_per_statement
from okr_webhooks.models import Delivery, Endpoint
from okr_webhooks.repository import (
    DELIVERIES,
    TARGET_COLUMNS,
    signing_secrets,
    target_of,
)


@dataclass(frozen=True, slots=True)
class Job:
    """A leased delivery: all a sender needs, and the lease that lets it record the outcome."""

    delivery_id: int
    lease: UUID
    lease_until: datetime
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]
    webhook_id: str
    event_type: str
    payload: bytes
    attempts: int
    first_failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """An attempt and what it changes: `status` pending (retried at `next_attempt_at`),
    delivered, or failed (given up)."""

    job: Job
    at: datetime
    response_code: int | None
    latency_ms: float
    error: str | None
    status: str
    next_attempt_at: datetime | None


# One statement per batch of events: each message for every enabled endpoint subscribed to its
# type, the first `room` of them leased to the caller (the rest due now, for any process), and
# for the new ones what a sender needs. A message already there for an endpoint (an event
# consumed again) adds nothing.
FAN_OUT = text(
    """
    WITH messages AS (
        SELECT * FROM unnest(CAST(:types AS text[]), CAST(:ids AS text[]),
                             CAST(:bodies AS bytea[])) AS m(event_type, webhook_id, payload)
    ), matched AS (
        SELECT e.id AS endpoint_id, m.webhook_id, m.event_type, m.payload,
               row_number() OVER () <= :room AS ours
        FROM webhooks.endpoints e JOIN messages m ON m.event_type = ANY(e.events)
        WHERE e.enabled
    ), inserted AS (
        INSERT INTO webhooks.deliveries
            (endpoint_id, webhook_id, event_type, payload, lease, next_attempt_at)
        SELECT endpoint_id, webhook_id, event_type, payload,
               CASE WHEN ours THEN CAST(:lease AS uuid) END,
               CASE WHEN ours THEN CAST(:lease_until AS timestamptz) ELSE now() END
        FROM matched
        ON CONFLICT ON CONSTRAINT deliveries_once_per_endpoint DO NOTHING
        RETURNING id, endpoint_id, webhook_id, event_type, payload, lease
    )
    SELECT i.id, i.endpoint_id, i.webhook_id, i.event_type, i.payload, i.lease IS NOT NULL
           AS ours, e.url, e.secret, e.previous_secret, e.previous_secret_until
    FROM inserted i JOIN webhooks.endpoints e ON e.id = i.endpoint_id
    """
)


async def fan_out(
    session: AsyncSession,
    messages: Sequence[tuple[str, str, bytes]],
    room: int,
    lease: UUID,
    lease_until: datetime,
    now: datetime,
) -> tuple[list[Job], int]:
    """(type, webhook id, body) messages as deliveries: the jobs leased to the caller, and how
    many more were left due for any process."""
    rows = await session.execute(
        FAN_OUT,
        {
            "types": [m[0] for m in messages],
            "ids": [m[1] for m in messages],
            "bodies": [m[2] for m in messages],
            "room": room,
            "lease": lease,
            "lease_until": lease_until,
        },
    )
    jobs, left = [], 0
    for r in rows:
        if not r.ours:
            left += 1
            continue
        jobs.append(
            Job(
                r.id,
                lease,
                lease_until,
                r.endpoint_id,
                r.url,
                signing_secrets(r, now),
                r.webhook_id,
                r.event_type,
                r.payload,
                0,
                None,
            )
        )
    return jobs, left


async def insert_deliveries(
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    lease: UUID | None,
    due_at: datetime,
) -> list[tuple[int, int, str]]:
    """(id, endpoint id, webhook id) of the rows that were new: an event consumed again
    (redelivered by JetStream) finds its deliveries there and adds none. With a `lease`, the
    rows are this process's to send until `due_at`; without, they are due at `due_at`."""
    inserted: list[tuple[int, int, str]] = []
    step = rows_per_statement(Delivery.__table__)
    for start in range(0, len(rows), step):
        chunk = [
            {**r, "lease": lease, "next_attempt_at": due_at} for r in rows[start : start + step]
        ]
        statement = (
            insert(Delivery)
            .values(chunk)
            .on_conflict_do_nothing(constraint="deliveries_once_per_endpoint")
            .returning(Delivery.id, Delivery.endpoint_id, Delivery.webhook_id)
        )
        inserted += [(r.id, r.endpoint_id, r.webhook_id) for r in await session.execute(statement)]
    return inserted


async def claim_due(
    session: AsyncSession, limit: int, lease: UUID, lease_until: datetime, now: datetime
) -> list[Job]:
    """Lease up to `limit` due deliveries of enabled endpoints, oldest due first. Rows another
    process is claiming at this moment are skipped, not waited for."""
    due = (
        select(Delivery.id)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, Endpoint.enabled)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
        .scalar_subquery()
    )
    claimed = (
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(due))
            .values(lease=lease, next_attempt_at=lease_until)
            .returning(
                Delivery.id,
                Delivery.endpoint_id,
                Delivery.webhook_id,
                Delivery.event_type,
                Delivery.payload,
                Delivery.attempts,
                Delivery.first_failed_at,
            )
        )
    ).all()
    if not claimed:
        return []
    ids = {r.endpoint_id for r in claimed}
    rows = await session.execute(select(*TARGET_COLUMNS).where(Endpoint.id.in_(ids)))
    found = {t.id: t for t in (target_of(r, now) for r in rows)}
    return [
        Job(
            r.id,
            lease,
            lease_until,
            r.endpoint_id,
            found[r.endpoint_id].url,
            found[r.endpoint_id].secrets,
            r.webhook_id,
            r.event_type,
            r.payload,
            r.attempts,
            r.first_failed_at,
        )
        for r in claimed
    ]


# The attempts of a batch as arrays, in one statement with a plan prepared once (a multi-row
# VALUES compiled anew for every batch cost more than sending it). Attempts of deliveries that
# are gone (their endpoint deleted while they were in flight) are left out.
RECORD_ATTEMPTS = text(
    """
    INSERT INTO webhooks.attempts
        (delivery_id, attempt, at, outcome, response_code, latency_ms, error)
    SELECT a.delivery_id, a.attempt, a.at, a.outcome, a.response_code, a.latency_ms, a.error
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:ats AS timestamptz[]),
                CAST(:outcomes AS text[]), CAST(:codes AS int[]), CAST(:latencies AS float8[]),
                CAST(:errors AS text[]))
         AS a(delivery_id, attempt, at, outcome, response_code, latency_ms, error)
    JOIN webhooks.deliveries d ON d.id = a.delivery_id
    """
)


async def record(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Each attempt, and its delivery's new state: only while the lease is still the one it
    was sent under (a lease that ran out belongs to whoever claimed the delivery since)."""
    if not outcomes:
        return
    connection = await session.connection()
    await session.execute(
        RECORD_ATTEMPTS,
        {
            "ids": [o.job.delivery_id for o in outcomes],
            "attempts": [o.job.attempts + 1 for o in outcomes],
            "ats": [o.at for o in outcomes],
            "outcomes": ["delivered" if o.status == "delivered" else "failed" for o in outcomes],
            "codes": [o.response_code for o in outcomes],
            "latencies": [o.latency_ms for o in outcomes],
            "errors": [o.error for o in outcomes],
        },
    )
    statement = (
        update(DELIVERIES)
        .where(DELIVERIES.c.id == bindparam("did"), DELIVERIES.c.lease == bindparam("held"))
        .values(
            status=bindparam("st"),
            attempts=DELIVERIES.c.attempts + 1,
            next_attempt_at=bindparam("nxt"),
            first_failed_at=bindparam("ff"),
            finished_at=bindparam("fin"),
            lease=None,
        )
    )
    await connection.execute(
        statement,
        [
            {
                "did": o.job.delivery_id,
                "held": o.job.lease,
                "st": o.status,
                "nxt": o.next_attempt_at,
                "ff": o.job.first_failed_at if o.error is None else o.job.first_failed_at or o.at,
                "fin": None if o.status == "pending" else o.at,
            }
            for o in outcomes
        ],
    )


async def pending(session: AsyncSession) -> int:
    """Deliveries not yet delivered nor given up: the service's backlog."""
    found = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
    )
    return int(found or 0)


async def prune(session: AsyncSession, finished_before: datetime) -> None:
    await session.execute(
        delete(Delivery).where(Delivery.status != "pending", Delivery.finished_at < finished_before)
    )
