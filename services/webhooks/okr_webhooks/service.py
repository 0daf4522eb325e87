"""Use cases of the webhooks service: plain async functions over a session; no NATS, no HTTP."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from okr_shared.contracts import webhook_rpc as rpc
from okr_shared.contracts.common import Actor, Page, utcnow
from okr_shared.contracts.webhooks import (
    PING,
    SECRET_PREFIX,
    Delivery,
    DeliveryAttempt,
    Endpoint,
    EndpointWithSecret,
    webhook_id,
)
from okr_webhooks import delivery_repository, models, repository
from okr_webhooks.addresses import check_url
from okr_webhooks.delivery_repository import Job, Outcome
from okr_webhooks.errors import EndpointNotFound, NotAllowed
from okr_webhooks.messages import Outgoing, body
from okr_webhooks.retries import RetryPolicy
from okr_webhooks.sender import Sent

ROTATION_GRACE = timedelta(hours=24)  # the old secret signs too for this long after a rotation


def require_admin(actor: Actor) -> None:
    """The gateway lets only admins through; said again here, where the data is."""
    if not actor.is_admin:
        raise NotAllowed("only an admin may manage webhooks")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def view(endpoint: models.Endpoint) -> Endpoint:
    return Endpoint.model_validate(endpoint, from_attributes=True)


def with_secret(endpoint: models.Endpoint) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(endpoint, from_attributes=True)


async def _found(session: AsyncSession, endpoint_id: int, *, lock: bool = False) -> models.Endpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, lock=lock)
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


async def create_endpoint(
    session: AsyncSession, request: rpc.CreateEndpoint, allow_private: bool
) -> EndpointWithSecret:
    require_admin(request.actor)
    data = request.data
    await check_url(data.url, allow_private)
    endpoint = models.Endpoint(
        url=data.url,
        events=sorted({e.value for e in data.events}),
        description=data.description,
        secret=new_secret(),
        created_by=request.actor.user_id,
    )
    return with_secret(await repository.add_endpoint(session, endpoint))


async def list_endpoints(session: AsyncSession, request: rpc.ListEndpoints) -> Page[Endpoint]:
    require_admin(request.actor)
    rows, total = await repository.list_endpoints(session, request.skip, request.limit)
    return Page(items=[view(e) for e in rows], total=total, skip=request.skip, limit=request.limit)


async def get_endpoint(session: AsyncSession, request: rpc.EndpointRequest) -> Endpoint:
    require_admin(request.actor)
    return view(await _found(session, request.endpoint_id))


async def update_endpoint(
    session: AsyncSession, request: rpc.UpdateEndpoint, allow_private: bool
) -> Endpoint:
    """Change the URL, the events or the description, or enable or disable it. Enabled again,
    it starts afresh: not failing, and its pending deliveries due at once."""
    require_admin(request.actor)
    endpoint = await _found(session, request.endpoint_id, lock=True)
    changes = request.changes.changes()
    if "url" in changes:
        await check_url(changes["url"], allow_private)
        endpoint.url = changes["url"]
    if "events" in changes:
        endpoint.events = sorted({e.value for e in changes["events"]})
    if "description" in changes:
        endpoint.description = changes["description"]
    enabled = changes.get("enabled")
    if enabled is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
        endpoint.failing_since = None
        await repository.resume_deliveries(session, endpoint.id)
    elif enabled is False and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_at = False, utcnow()
        endpoint.disabled_reason = f"disabled by user {request.actor.user_id}"
    endpoint.updated_at = utcnow()
    await repository.save_endpoint(session)
    return view(endpoint)


async def delete_endpoint(session: AsyncSession, request: rpc.EndpointRequest) -> None:
    """The endpoint and its deliveries: nothing more is sent to it."""
    require_admin(request.actor)
    if not await repository.delete_endpoint(session, request.endpoint_id):
        raise EndpointNotFound(request.endpoint_id)


async def rotate_secret(session: AsyncSession, request: rpc.EndpointRequest) -> EndpointWithSecret:
    """A new secret; the old one signs too for 24 h, so the receiver can switch without a gap."""
    require_admin(request.actor)
    endpoint = await _found(session, request.endpoint_id, lock=True)
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_until = utcnow() + ROTATION_GRACE
    endpoint.updated_at = utcnow()
    await repository.save_endpoint(session)
    return with_secret(endpoint)


async def deliveries(session: AsyncSession, request: rpc.ListDeliveries) -> list[Delivery]:
    require_admin(request.actor)
    await _found(session, request.endpoint_id)
    found, attempts = await repository.deliveries_of(
        session, request.endpoint_id, request.status, request.skip, request.limit
    )
    return [delivery_view(d, attempts[d.id]) for d in found]


def delivery_view(delivery: models.Delivery, attempts: Sequence[models.Attempt]) -> Delivery:
    return Delivery(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event_type=delivery.event_type,
        status=delivery.status,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        delivered_at=delivery.finished_at if delivery.status == "delivered" else None,
        attempts=[DeliveryAttempt.model_validate(a, from_attributes=True) for a in attempts],
    )


async def delivery(session: AsyncSession, delivery_id: int) -> Delivery:
    found, attempts = await repository.delivery_with_attempts(session, delivery_id)
    return delivery_view(found, attempts)


# --- fan-out and delivery -------------------------------------------------------------------


async def fan_out(
    session: AsyncSession,
    messages: Sequence[Outgoing],
    lease: tuple[UUID, datetime],
    room: int,
) -> tuple[list[Job], int]:
    """One delivery per message and subscribed endpoint, in one statement. Those that fit in
    `room` are leased to the caller and returned as jobs, to be sent once this commits; the
    rest are left due for any process to claim (how many is the second value)."""
    token, lease_until = lease
    rows = [(m.event_type, m.webhook_id, m.body) for m in messages]
    return await delivery_repository.fan_out(session, rows, room, token, lease_until, utcnow())


async def ping(
    session: AsyncSession, request: rpc.EndpointRequest, lease: UUID, lease_until: datetime
) -> Job:
    """A `webhook.ping` delivery to this endpoint, leased to the caller to send at once."""
    require_admin(request.actor)
    now = utcnow()
    target = await repository.target(session, request.endpoint_id, now)
    if target is None:
        raise EndpointNotFound(request.endpoint_id)
    message_id = webhook_id(f"ping_{uuid4().hex}")
    data = {"endpoint_id": target.id, "message": "a test from okr"}
    payload = body(PING, now, data)
    row = {"endpoint_id": target.id, "webhook_id": message_id, "event_type": PING}
    row["payload"] = payload
    ((delivery_id, _, _),) = await delivery_repository.insert_deliveries(
        session, [row], lease, lease_until
    )
    return Job(
        delivery_id,
        lease,
        lease_until,
        target.id,
        target.url,
        target.secrets,
        message_id,
        PING,
        payload,
        0,
        None,
    )


def outcome(job: Job, sent: Sent, policy: RetryPolicy) -> Outcome:
    """What one attempt makes of a delivery: delivered; or due again after a backoff; or, 24 h
    after its first failure, given up."""
    if sent.delivered:
        return Outcome(job, sent.at, sent.response_code, sent.latency_ms, None, "delivered", None)
    failures = job.attempts + 1
    retry_at = policy.next_attempt(failures, sent.at, job.first_failed_at or sent.at)
    status = "pending" if retry_at else "failed"
    return Outcome(job, sent.at, sent.response_code, sent.latency_ms, sent.error, status, retry_at)


async def record(session: AsyncSession, outcomes: Sequence[Outcome], policy: RetryPolicy) -> None:
    """The attempts, their deliveries, and their endpoints' health: an endpoint that has been
    failing for `give_up_after` (24 h) is disabled, its last failure the reason."""
    await delivery_repository.record(session, outcomes)
    recovered: list[int] = []
    failing: dict[int, datetime] = {}
    restarted: dict[int, datetime] = {}
    reasons: dict[int, str] = {}
    by_endpoint: dict[int, list[Outcome]] = {}
    for o in sorted(outcomes, key=lambda o: o.at):
        by_endpoint.setdefault(o.job.endpoint_id, []).append(o)
    for endpoint_id, seen in by_endpoint.items():
        successes = [i for i, o in enumerate(seen) if o.error is None]
        after = seen[successes[-1] + 1 :] if successes else seen
        if not after:
            recovered.append(endpoint_id)
            continue
        (restarted if successes else failing)[endpoint_id] = after[0].at
        last = after[-1]
        reasons[endpoint_id] = (
            f"failed for {policy.give_up_after_s / 3600:g} h without a success; "
            f"the last attempt at {last.at.isoformat(timespec='seconds')}: {last.error}"
        )
    await repository.mark_endpoints(session, recovered, failing, restarted)
    cutoff = max(o.at for o in outcomes) - timedelta(seconds=policy.give_up_after_s)
    await repository.disable_failing(session, reasons, cutoff)
