"""The webhooks service's NATS handlers: request/reply for managing endpoints, and three durable
batch consumers that turn events into deliveries (one transaction per batch, then the ack)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client
from pydantic import TypeAdapter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_shared import channels
from okr_shared import subjects as s
from okr_shared.consumer import BatchConsumer, Delivery
from okr_shared.contracts import webhook_rpc as rpc
from okr_shared.contracts.common import Page, utcnow
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.contracts.webhooks import Delivery as DeliveryView
from okr_shared.contracts.webhooks import Endpoint, EndpointWithSecret
from okr_shared.rpc import RpcRouter
from okr_webhooks import messages, repository, service
from okr_webhooks.delivery import Deliverer
from okr_webhooks.messages import Outgoing
from okr_webhooks.settings import WebhooksSettings

T = TypeVar("T")
OBJECTIVE_EVENTS_CONSUMER = "webhooks-objective-events"
PROGRESS_CONSUMER = "webhooks-progress"
REJECTIONS_CONSUMER = "webhooks-kpi-rejections"
PING_WAIT_S = 3.0
FAN_OUT_TRIES = 3  # a test ping answers with its first attempt if it is over by then


def build_router(
    sessions: async_sessionmaker[AsyncSession], settings: WebhooksSettings, deliverer: Deliverer
) -> RpcRouter:
    router = RpcRouter(queue="webhooks")
    serve = router.serve
    allow_private = settings.allow_private

    @serve(rpc.CREATE)
    async def create(request: rpc.CreateEndpoint) -> EndpointWithSecret:
        """Register an endpoint for some event types; its signing secret is answered once."""
        async with sessions.begin() as session:
            return await service.create_endpoint(session, request, allow_private)

    @serve(rpc.LIST)
    async def list_(request: rpc.ListEndpoints) -> Page[Endpoint]:
        """A page of the endpoints, without their secrets."""
        async with sessions() as session:
            return await service.list_endpoints(session, request)

    @serve(rpc.GET)
    async def get(request: rpc.EndpointRequest) -> Endpoint:
        """One endpoint, with why it is disabled if it is."""
        async with sessions() as session:
            return await service.get_endpoint(session, request)

    @serve(rpc.UPDATE)
    async def update(request: rpc.UpdateEndpoint) -> Endpoint:
        """Change an endpoint, or enable it again (its pending deliveries are retried)."""
        async with sessions.begin() as session:
            updated = await service.update_endpoint(session, request, allow_private)
        deliverer.nudge()
        return updated

    @serve(rpc.DELETE)
    async def delete(request: rpc.EndpointRequest) -> None:
        """Remove an endpoint and its deliveries."""
        async with sessions.begin() as session:
            await service.delete_endpoint(session, request)

    @serve(rpc.ROTATE_SECRET)
    async def rotate_secret(request: rpc.EndpointRequest) -> EndpointWithSecret:
        """A new signing secret; the old one signs too for 24 h."""
        async with sessions.begin() as session:
            return await service.rotate_secret(session, request)

    @serve(rpc.DELIVERIES)
    async def deliveries(request: rpc.ListDeliveries) -> list[DeliveryView]:
        """An endpoint's deliveries, newest first, each with its attempts."""
        async with sessions() as session:
            return await service.deliveries(session, request)

    @serve(rpc.TEST)
    async def test(request: rpc.EndpointRequest) -> DeliveryView:
        """Send a `webhook.ping` now; answered with its first attempt if that is over within
        3 s, else while it is still pending."""
        token, length = deliverer.lease()
        async with sessions.begin() as session:
            job = await service.ping(session, request, token, utcnow() + length)
        deliverer.take([job])
        await deliverer.recorded(job.delivery_id, PING_WAIT_S)
        async with sessions() as session:
            return await service.delivery(session, job.delivery_id)

    return router


def fan_out(
    sessions: async_sessionmaker[AsyncSession],
    deliverer: Deliverer,
    translate: Callable[[T], Outgoing | None],
) -> Callable[[list[Delivery[T]]], Awaitable[None]]:
    """A batch handler: the batch's events as deliveries in one transaction; those leased to
    this process are sent as soon as it commits."""

    async def handle(batch: list[Delivery[T]]) -> None:
        found = [m for m in (translate(d.event) for d in batch) if m is not None]
        if not found:
            return
        for attempt in range(1, FAN_OUT_TRIES + 1):
            token, length = deliverer.lease()
            try:
                async with sessions.begin() as session:
                    jobs, left = await service.fan_out(
                        session, found, (token, utcnow() + length), deliverer.room()
                    )
            except IntegrityError as err:
                # An endpoint deleted since the batch read the endpoints: read them again.
                if attempt == FAN_OUT_TRIES or not repository.endpoint_gone(err):
                    raise
                continue
            deliverer.take(jobs)
            if left:
                deliverer.nudge()  # left unleased for want of room: claim them
            return

    return handle


def objective_events_consumer(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    deliverer: Deliverer,
    batch_size: int,
) -> BatchConsumer[ObjectiveEvent]:
    return BatchConsumer(
        client,
        stream=s.OBJECTIVES,
        durable=OBJECTIVE_EVENTS_CONSUMER,
        filter_subject=s.OBJECTIVE_EVENTS,
        payload=TypeAdapter(ObjectiveEvent),
        handle=fan_out(sessions, deliverer, messages.from_objective_event),
        batch_size=batch_size,
        channels=channels.OBJECTIVE_EVENTS,
    )


def progress_consumer(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    deliverer: Deliverer,
    batch_size: int,
) -> BatchConsumer[ObjectiveProgressUpdated]:
    return BatchConsumer(
        client,
        stream=s.PROGRESS,
        durable=PROGRESS_CONSUMER,
        filter_subject=s.PROGRESS_UPDATES,
        payload=ObjectiveProgressUpdated,
        handle=fan_out(sessions, deliverer, messages.from_progress),
        batch_size=batch_size,
        channels=[channels.PROGRESS_UPDATED],
    )


def rejections_consumer(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    deliverer: Deliverer,
    batch_size: int,
) -> BatchConsumer[Outgoing]:
    """The KPIs service's dead letters, read as they are: each is a refused value with its
    reason, whatever refused it (an unknown or archived KPI, a bad payload, a time too far
    ahead)."""
    return BatchConsumer(
        client,
        stream=s.KPI_VALUES_DEAD_LETTERS,
        durable=REJECTIONS_CONSUMER,
        filter_subject=s.KPI_VALUE_REJECTIONS,
        payload=messages.from_dead_letter,
        handle=fan_out(sessions, deliverer, _as_is),
        batch_size=batch_size,
        channels=[channels.KPI_VALUE_REJECTED],
    )


def _as_is(message: Outgoing) -> Outgoing:
    return message
