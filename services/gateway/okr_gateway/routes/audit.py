"""`/api/v1/audit/security`: the security log, for admins (people, not keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from okr_gateway import security_log
from okr_gateway.deps import AdminUser, ReaderDep
from okr_gateway.schemas import SecurityEventResponse
from okr_gateway.security_log import EventKind
from okr_shared.contracts.common import Page
from okr_shared.contracts.fields import Id, Offset

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "/security",
    response_model=Page[SecurityEventResponse],
    summary="Sign-ins, sign-outs, password and key changes, newest first (admin)",
)
async def security_events(
    _: AdminUser,
    db: ReaderDep,
    kind: EventKind | None = None,
    user_id: Annotated[Id | None, Query(description="events by or about this user")] = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[SecurityEventResponse]:
    events, total = await security_log.list_events(db, kind, user_id, skip, limit)
    return Page(
        items=[SecurityEventResponse.model_validate(e) for e in events],
        total=total,
        skip=skip,
        limit=limit,
    )
