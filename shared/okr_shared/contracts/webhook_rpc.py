"""Requests the gateway sends to the webhooks service, each with the caller as `Actor`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from okr_shared.contracts.common import Actor, Contract
from okr_shared.contracts.fields import Id, Offset
from okr_shared.contracts.webhooks import DeliveryStatus, EndpointCreate, EndpointUpdate


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
