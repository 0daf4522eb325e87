"""The webhooks service's request/reply endpoints: each request carries the caller as `Actor`;
the declarations at the end name each endpoint's subject, request and result once."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from okr_shared import subjects as s
from okr_shared.contracts.common import Actor, Contract, Page
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.fields import Id, Offset
from okr_shared.contracts.webhooks import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    EndpointWithSecret,
)
from okr_shared.errors import Forbidden, Invalid, NotFound


class CreateEndpoint(Contract):
    actor: Actor
    data: EndpointCreate


class ListEndpoints(Contract):
    actor: Actor
    skip: Offset = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class EndpointRequest(Contract):
    actor: Actor
    endpoint_id: Id


class UpdateEndpoint(EndpointRequest):
    changes: EndpointUpdate


class ListDeliveries(EndpointRequest):
    status: DeliveryStatus | None = None
    skip: Offset = 0
    limit: Annotated[int, Field(ge=1, le=200)] = 50


# Every one refuses a caller who is not an admin (403), and one that names a missing endpoint
# (404); creating and changing one also refuses a URL it may not send to (422).
CREATE = RpcEndpoint(
    s.RPC_WEBHOOKS_CREATE, CreateEndpoint, EndpointWithSecret, (Forbidden, Invalid)
)
LIST = RpcEndpoint(s.RPC_WEBHOOKS_LIST, ListEndpoints, Page[Endpoint], (Forbidden,))
GET = RpcEndpoint(s.RPC_WEBHOOKS_GET, EndpointRequest, Endpoint, (Forbidden, NotFound))
UPDATE = RpcEndpoint(
    s.RPC_WEBHOOKS_UPDATE, UpdateEndpoint, Endpoint, (Forbidden, NotFound, Invalid)
)
DELETE = RpcEndpoint(s.RPC_WEBHOOKS_DELETE, EndpointRequest, type(None), (Forbidden, NotFound))
ROTATE_SECRET = RpcEndpoint(
    s.RPC_WEBHOOKS_ROTATE_SECRET, EndpointRequest, EndpointWithSecret, (Forbidden, NotFound)
)
# 200 deliveries with their payloads and attempts: in chunks.
DELIVERIES = RpcEndpoint(
    s.RPC_WEBHOOKS_DELIVERIES, ListDeliveries, list[Delivery], (Forbidden, NotFound), chunked=True
)
TEST = RpcEndpoint(s.RPC_WEBHOOKS_TEST, EndpointRequest, Delivery, (Forbidden, NotFound))
