"""`/api/v1/api-keys`: keys for programs, each acting as its owner narrowed to its scopes. For
people only: a key cannot make, list or revoke keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from okr_gateway import api_keys
from okr_gateway.deps import (
    ClientAddress,
    CurrentUser,
    OriginDep,
    ReaderDep,
    SessionDep,
    StateDep,
    Writer,
)
from okr_gateway.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyResponse
from okr_shared.contracts.common import Page
from okr_shared.contracts.fields import Id, Offset

KeyId = Annotated[Id, Path(description="the key's id (not its prefix)")]

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Make an API key for yourself (the key is shown this once)",
)
async def create_key(
    data: ApiKeyCreate,
    user: Writer,
    gateway: StateDep,
    address: ClientAddress,
    origin: OriginDep,
    db: SessionDep,
    response: Response,
) -> ApiKeyCreated:
    """Your current password is asked again (403 if wrong, counted as a failed sign-in; 429
    while sign-in is throttled). Scopes your role cannot use are refused (403): a key holds its
    owner's rights at most."""
    password = data.current_password.get_secret_value()
    await gateway.sign_in.confirm(user, password, address, "making an API key")
    row, key = await api_keys.issue_api_key(
        db, user, data.name, data.scopes, data.expires_at, origin=origin
    )
    await db.commit()
    response.headers["Location"] = f"/api/v1/api-keys/{row.id}"
    response.headers["Cache-Control"] = "no-store"  # the key is in the body
    return ApiKeyCreated(**ApiKeyResponse.model_validate(row).model_dump(), key=key)


@router.get(
    "",
    response_model=Page[ApiKeyResponse],
    summary="Your API keys, revoked ones too (an admin: anyone's, or one user's)",
)
async def list_keys(
    user: CurrentUser,
    db: ReaderDep,
    user_id: Annotated[Id | None, Query(description="an admin: only this user's keys")] = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[ApiKeyResponse]:
    keys, total = await api_keys.list_keys(db, user, user_id, skip, limit)
    return Page(
        items=[ApiKeyResponse.model_validate(k) for k in keys], total=total, skip=skip, limit=limit
    )


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key of yours (an admin: anyone's); from the next request on",
)
async def revoke_key(key_id: KeyId, user: Writer, origin: OriginDep, db: SessionDep) -> Response:
    await api_keys.revoke(db, user, key_id, origin)
    await db.commit()
    return Response(status_code=204)
