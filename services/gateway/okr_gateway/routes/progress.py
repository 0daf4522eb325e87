"""`GET /api/v1/progress/stream`: rollup updates as Server-Sent Events, as they happen, limited
to the objectives the caller may see."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from nats.aio.subscription import Subscription

from okr_gateway.deps import ObjectivesRead, Services, ServicesDep, actor
from okr_shared import subjects as s
from okr_shared.asyncapi import Documented
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.fields import Id
from okr_shared.contracts.objectives import ObjectiveDetail
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.errors import Unavailable
from okr_shared.event_channels import Channel

router = APIRouter(tags=["progress"])
HEARTBEAT_S = 15.0
TREE_IDS = re.compile(rb'\{"id": (\d+),')  # how the tree view opens every node

# For the AsyncAPI document: what the stream below subscribes to.
RECEIVES = (
    Documented(
        Channel(
            s.PROGRESS_UPDATE_ADDRESS,
            ObjectiveProgressUpdated,
            "Passed on to GET /api/v1/progress/stream as Server-Sent Events.",
        ),
        receives=True,
        how="with a core NATS subscription per open stream (no durable: a client that "
        "reconnects reads the current progress from the API)",
    ),
)


@router.get(
    "/api/v1/progress/stream",
    summary="Rollup updates as Server-Sent Events (objective_id repeatable, or root_id)",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    user: ObjectivesRead,
    rpc_: ServicesDep,
    objective_id: Annotated[list[Id] | None, Query(max_length=500)] = None,
    root_id: Annotated[Id | None, Query()] = None,
) -> StreamingResponse:
    allowed = await _allowed_ids(rpc_, actor(user), objective_id, root_id)
    try:
        subscription = await rpc_.broker.connection.subscribe(
            s.PROGRESS_UPDATES, pending_msgs_limit=100_000
        )
    except Exception as err:
        raise Unavailable("the message bus is unavailable; try again shortly") from err
    return StreamingResponse(
        _events(request, subscription, allowed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _allowed_ids(
    rpc_: Services, who: Actor, objective_ids: list[int] | None, root_id: int | None
) -> set[int] | None:
    """The objectives this stream may show; None means every one (an admin's whole company).
    Each is checked when the stream opens: objectives created later join after a reconnect."""
    if objective_ids:
        await asyncio.gather(
            *(
                rpc_.call(
                    s.RPC_OBJECTIVES_GET,
                    rpc.ObjectiveRequest(actor=who, objective_id=i),
                    ObjectiveDetail,
                )
                for i in set(objective_ids)
            )
        )  # 404 for any the caller may not see
        return set(objective_ids)
    if root_id is not None or who.role is not Role.ADMIN:
        body = await rpc_.call_raw(s.RPC_OBJECTIVES_TREE, rpc.TreeView(actor=who, root_id=root_id))
        return {int(found) for found in TREE_IDS.findall(body)}
    return None


async def _events(
    request: Request, subscription: Subscription, allowed: set[int] | None
) -> AsyncIterator[bytes]:
    yield b": connected\n\n"
    try:
        while not await request.is_disconnected():
            try:
                msg = await subscription.next_msg(timeout=HEARTBEAT_S)
            except TimeoutError:  # nothing for a while: a comment keeps proxies from closing it
                yield b": heartbeat\n\n"
                continue
            objective = int(msg.subject.rsplit(".", 1)[-1])
            if allowed is not None and objective not in allowed:
                continue
            update = json.loads(msg.data)
            event_id = f"{objective}:{update.get('version', 0)}"
            yield f"id: {event_id}\nevent: progress\ndata: {json.dumps(update)}\n\n".encode()
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
