"""`/api/v1/webhooks`: endpoints that receive events, signed, through the webhooks service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from okr_gateway.deps import ServicesDep, WebhooksManage, actor
from okr_shared.contracts import webhook_rpc as rpc
from okr_shared.contracts.common import Page
from okr_shared.contracts.fields import Id, Offset
from okr_shared.contracts.webhooks import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    EndpointWithSecret,
)

EndpointId = Annotated[Id, Path(description="the endpoint's id")]
router = APIRouter(tags=["webhooks"])
# Who may manage webhooks: an admin, with a token or a key that has `webhooks:manage`.
Manager = WebhooksManage


@router.post(
    "/api/v1/webhooks",
    status_code=201,
    response_model=EndpointWithSecret,
    summary="Register an endpoint for events (admin); its signing secret is shown once",
)
async def create_endpoint(
    data: EndpointCreate, user: Manager, rpc_: ServicesDep, response: Response
) -> EndpointWithSecret:
    request = rpc.CreateEndpoint(actor=actor(user), data=data)
    created = await rpc_.ask(rpc.CREATE, request)
    response.headers["Location"] = f"/api/v1/webhooks/{created.id}"
    response.headers["Cache-Control"] = "no-store"  # it holds the secret
    return created


@router.get("/api/v1/webhooks", response_model=Page[Endpoint], summary="List endpoints (admin)")
async def list_endpoints(
    user: Manager,
    rpc_: ServicesDep,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[Endpoint]:
    request = rpc.ListEndpoints(actor=actor(user), skip=skip, limit=limit)
    return await rpc_.ask(rpc.LIST, request)


@router.get(
    "/api/v1/webhooks/{endpoint_id}",
    response_model=Endpoint,
    summary="One endpoint, and why it is disabled if it is (admin)",
)
async def get_endpoint(endpoint_id: EndpointId, user: Manager, rpc_: ServicesDep) -> Endpoint:
    request = rpc.EndpointRequest(actor=actor(user), endpoint_id=endpoint_id)
    return await rpc_.ask(rpc.GET, request)


@router.patch(
    "/api/v1/webhooks/{endpoint_id}",
    response_model=Endpoint,
    summary='Change an endpoint, or enable it again with {"enabled": true} (admin)',
)
async def update_endpoint(
    endpoint_id: EndpointId, changes: EndpointUpdate, user: Manager, rpc_: ServicesDep
) -> Endpoint:
    request = rpc.UpdateEndpoint(actor=actor(user), endpoint_id=endpoint_id, changes=changes)
    return await rpc_.ask(rpc.UPDATE, request)


@router.delete(
    "/api/v1/webhooks/{endpoint_id}",
    status_code=204,
    summary="Remove an endpoint and its deliveries (admin)",
)
async def delete_endpoint(endpoint_id: EndpointId, user: Manager, rpc_: ServicesDep) -> Response:
    request = rpc.EndpointRequest(actor=actor(user), endpoint_id=endpoint_id)
    await rpc_.ask(rpc.DELETE, request)
    return Response(status_code=204)


@router.post(
    "/api/v1/webhooks/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="A new signing secret, shown once; the old one also signs for 24 h (admin)",
)
async def rotate_secret(
    endpoint_id: EndpointId, user: Manager, rpc_: ServicesDep, response: Response
) -> EndpointWithSecret:
    request = rpc.EndpointRequest(actor=actor(user), endpoint_id=endpoint_id)
    rotated = await rpc_.ask(rpc.ROTATE_SECRET, request)
    response.headers["Cache-Control"] = "no-store"  # it holds the secret
    return rotated


@router.get(
    "/api/v1/webhooks/{endpoint_id}/deliveries",
    response_model=list[Delivery],
    summary="An endpoint's deliveries, newest first, with every attempt (admin)",
)
async def deliveries(
    endpoint_id: EndpointId,
    user: Manager,
    rpc_: ServicesDep,
    status: DeliveryStatus | None = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[Delivery]:
    request = rpc.ListDeliveries(
        actor=actor(user), endpoint_id=endpoint_id, status=status, skip=skip, limit=limit
    )
    return await rpc_.ask(rpc.DELIVERIES, request)


@router.post(
    "/api/v1/webhooks/{endpoint_id}/test",
    status_code=202,
    response_model=Delivery,
    summary="Send a webhook.ping now; answered with its first attempt if it is over in 3 s",
)
async def test_endpoint(endpoint_id: EndpointId, user: Manager, rpc_: ServicesDep) -> Delivery:
    request = rpc.EndpointRequest(actor=actor(user), endpoint_id=endpoint_id)
    return await rpc_.ask(rpc.TEST, request)
