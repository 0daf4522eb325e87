"""Request/reply endpoints are declared once (okr_shared.contracts): a handler that serves one
must take its request model, or the service does not start."""

from __future__ import annotations

import pytest

from okr_shared.contracts import webhook_rpc
from okr_shared.rpc import CONTRACTS, RpcRouter


def test_a_handler_must_take_the_endpoints_request() -> None:
    router = RpcRouter(queue="test")

    async def wrong(request: webhook_rpc.ListEndpoints) -> None: ...

    with pytest.raises(TypeError, match="must take EndpointRequest"):
        router.serve(webhook_rpc.GET)(wrong)  # type: ignore[arg-type]


def test_a_served_endpoint_is_documented_with_its_refusals() -> None:
    router = RpcRouter(queue="test")

    async def rotate(request: webhook_rpc.EndpointRequest) -> object: ...

    router.serve(webhook_rpc.ROTATE_SECRET)(rotate)  # type: ignore[arg-type]
    contract = CONTRACTS[webhook_rpc.ROTATE_SECRET.subject]
    assert contract.result is webhook_rpc.ROTATE_SECRET.result
    assert {e.code for e in contract.refuses} == {"forbidden", "not_found"}
