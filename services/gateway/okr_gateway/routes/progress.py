"""`GET /api/v1/objectives/{id}/progress/history`: an objective's recorded rollups, bucketed by
the progress service, with the expected progress of each point's day added here (the gateway
has the objective's dates; the progress service's projection has none).

`GET /api/v1/progress/stream`: rollup updates as Server-Sent Events, as they happen, limited
to the objectives the caller may see while the stream is open (okr_gateway.live keeps that
view up to date from the objective events).

Who the caller is, is looked at again: every OKR_GATEWAY_STREAM_RECHECK_S the callers of all
open streams at once (one query), so a deactivated user's stream ends and a changed user is
checked again as a request would be (a new role or department changes what the stream shows,
tokens ended by a change to the user end it); and every OKR_GATEWAY_STREAM_RESYNC_S each
stream's token, as a request's (an expired token, a revoked key), and its whole view."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import nats.errors
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from faststream.exceptions import IncorrectState

from okr_gateway import api_keys, service
from okr_gateway.deps import GatewayState, ObjectivesRead, StateDep, actor, bearer, caller
from okr_gateway.errors import Unauthorized
from okr_gateway.live import VIEW_EVENTS, LiveHub, Scope, Viewer
from okr_gateway.models import User
from okr_gateway.scopes import Scope as ApiScope
from okr_gateway.security import looks_like_api_key
from okr_shared import channels
from okr_shared.asyncapi import Documented
from okr_shared.contracts import objective_rpc
from okr_shared.contracts import progress as progress_rpc
from okr_shared.contracts.common import utcnow
from okr_shared.contracts.fields import Id
from okr_shared.contracts.progress import (
    BUCKET_LENGTH,
    MAX_HISTORY_BUCKETS,
    HistoryBucket,
    ProgressHistory,
    ProgressHistoryPoint,
    ProgressHistoryRequest,
    history_range_problem,
)
from okr_shared.errors import Invalid, NotFound, Unavailable
from okr_shared.faults import is_transient
from okr_shared.pace import expected_progress

router = APIRouter(tags=["progress"])
log = logging.getLogger(__name__)
HEARTBEAT_S = 15.0

# For the AsyncAPI document: what the live streams subscribe to.
RECEIVES = (
    Documented(
        channels.PROGRESS_UPDATED,
        receives=True,
        how="with one core NATS subscription per gateway process, shared by its open streams "
        "and passed on to GET /api/v1/progress/stream as Server-Sent Events (no durable: a "
        "client that reconnects reads the current progress from the API)",
    ),
    *(
        Documented(
            channel,
            receives=True,
            how="with one core NATS subscription per gateway process: the owner and department "
            "of each objective keep every open progress stream's view up to date",
        )
        for channel in channels.OBJECTIVE_EVENTS
        if channel.address in VIEW_EVENTS
    ),
)


DEFAULT_HISTORY = timedelta(days=30)  # `from` for an objective that starts after `to`


@router.get(
    "/api/v1/objectives/{objective_id}/progress/history",
    response_model=ProgressHistory,
    summary="Its progress over time: the last rollup of each hour, day or week, oldest first",
)
async def progress_history(
    objective_id: Annotated[Id, Path(description="the objective's id")],
    user: ObjectivesRead,
    gateway: StateDep,
    since: Annotated[
        datetime | None,
        Query(alias="from", description="default: the objective's start_date (UTC)"),
    ] = None,
    until: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
    bucket: HistoryBucket = HistoryBucket.DAY,
) -> ProgressHistory:
    """Times without a zone are UTC; both ends are included. `expected_progress` is where the
    objective should be on the day of the point (okr_shared.pace)."""
    start, end = await _period(gateway, user, objective_id)  # 404 unless the caller sees it
    until = _utc(until) if until is not None else utcnow()
    since = _utc(since) if since is not None else _default_since(start, until, bucket)
    problem = history_range_problem(since, until, bucket)
    if problem is not None:
        raise Invalid(problem)
    request = ProgressHistoryRequest(
        actor=actor(user), objective_id=objective_id, since=since, until=until, bucket=bucket
    )
    found = await gateway.services.ask(progress_rpc.HISTORY, request)
    return ProgressHistory(
        points=[
            ProgressHistoryPoint(
                at=p.at,
                progress=p.progress,
                expected_progress=expected_progress(start, end, p.at.astimezone(UTC).date()),
            )
            for p in found.points
        ]
    )


async def _period(gateway: GatewayState, user: User, objective_id: int) -> tuple[date, date]:
    """The objective's start and end dates, if the caller may see it (NotFound otherwise, as
    for one that does not exist): from the read model, else from the objectives service."""
    if (answers := gateway.read_model.answers) is not None:
        record = answers.visible(actor(user), objective_id)
        return record.start_date, record.end_date
    request = objective_rpc.ObjectiveRequest(actor=actor(user), objective_id=objective_id)
    found = await gateway.services.ask(objective_rpc.GET, request)
    return found.start_date, found.end_date


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _default_since(start: date, until: datetime, bucket: HistoryBucket) -> datetime:
    """The start of the objective's period, but no further back than one answer may reach;
    30 days before `until` when the period starts after it."""
    since = datetime.combine(start, time(), tzinfo=UTC)
    if since > until:
        return until - DEFAULT_HISTORY
    return max(since, until - BUCKET_LENGTH[bucket] * MAX_HISTORY_BUCKETS)


async def live_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live
    return hub


@router.get(
    "/api/v1/progress/stream",
    summary="Rollup updates as Server-Sent Events (objective_id repeatable, or root_id)",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    user: ObjectivesRead,
    gateway: StateDep,
    hub: Annotated[LiveHub, Depends(live_hub)],
    token: Annotated[str | None, Depends(bearer)],
    objective_id: Annotated[list[Id] | None, Query(max_length=500)] = None,
    root_id: Annotated[Id | None, Query()] = None,
) -> StreamingResponse:
    scope = Scope(frozenset(objective_id) if objective_id else None, root_id)
    viewer = Viewer(actor(user), scope, token=token or "", fingerprint=service.fingerprint(user))
    hub.watch(_callers_looked_at(gateway, hub), gateway.settings.stream_recheck_s)
    try:
        await hub.open(viewer)
    except (nats.errors.Error, OSError, IncorrectState) as err:
        raise Unavailable("the message bus is unavailable; try again shortly") from err
    missing: set[int] = set(scope.objective_ids or ()) - (viewer.allowed or set())
    if missing:
        hub.close(viewer)
        raise NotFound(f"objective {min(missing)} not found")
    return StreamingResponse(
        _events(request, gateway, hub, viewer),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, gateway: GatewayState, hub: LiveHub, viewer: Viewer
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    every = gateway.settings.stream_resync_s
    quiet_since, resync_at = loop.time(), loop.time() + every
    yield b": connected\n\n"
    try:
        while not await request.is_disconnected():
            frames = await viewer.take(min(HEARTBEAT_S, max(0.0, resync_at - loop.time())))
            now = loop.time()
            if frames:
                yield b"".join(frames)
                quiet_since = now
            if now >= resync_at and viewer.ended is None:
                # As a request would be: a token expired or revoked outside the user's row,
                # and an objective event missed (none arrive while NATS reconnects).
                resync_at = now + every
                await _check_again(gateway, hub, viewer, refresh=True)
            if viewer.ended is not None:
                yield f"event: end\ndata: {json.dumps({'reason': viewer.ended})}\n\n".encode()
                return
            if now - quiet_since >= HEARTBEAT_S:  # keeps proxies from closing a quiet stream
                yield b": heartbeat\n\n"
                quiet_since = now
    finally:
        hub.close(viewer)


def _callers_looked_at(
    gateway: GatewayState, hub: LiveHub
) -> Callable[[tuple[Viewer, ...]], Awaitable[None]]:
    """One query for the callers of all open streams: a stream whose user is gone or
    deactivated ends; one whose user changed in any way (role, department, password, whatever
    ends their tokens) is checked again as a request would be."""

    async def look(viewers: tuple[Viewer, ...]) -> None:
        keys = [v.token for v in viewers if looks_like_api_key(v.token)]
        async with gateway.readers() as db:
            users = await service.users_by_id(db, [v.actor.user_id for v in viewers])
            current = await api_keys.current_keys(db, keys) if keys else set()
        now = {user_id: service.fingerprint(user) for user_id, user in users.items()}
        for viewer in viewers:
            user = users.get(viewer.actor.user_id)
            if viewer.ended is not None:
                continue
            if user is None or not user.is_active:
                viewer.end("the token's user no longer exists or is deactivated; sign in again")
            elif looks_like_api_key(viewer.token) and viewer.token not in current:
                viewer.end("the API key was revoked or has expired")
            elif now[user.id] != viewer.fingerprint:
                await _check_again(gateway, hub, viewer, refresh=False)

    return look


async def _check_again(
    gateway: GatewayState, hub: LiveHub, viewer: Viewer, *, refresh: bool
) -> None:
    """The caller's token checked as a request's is; their view asked for again if their role
    or department changed (or if `refresh`)."""
    try:
        who = await caller(gateway, viewer.token)
    except Unauthorized as err:
        viewer.end(err.message)
        return
    except Exception as err:
        if not is_transient(err):
            raise
        log.warning("a progress stream could not look at its user again: %s", err)
        return  # the database is away: the stream goes on, and looks again next time
    if who.key is not None and ApiScope.OBJECTIVES_READ not in who.scopes:
        viewer.end("the API key no longer has the scope objectives:read")
        return
    user = who.user
    viewer.fingerprint = service.fingerprint(user)
    if refresh or actor(user) != viewer.actor:
        await hub.refresh(viewer, actor(user))
