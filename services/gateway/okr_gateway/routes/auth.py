from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from okr_gateway import service
from okr_gateway.deps import (
    CallerDep,
    ClientAddress,
    CurrentUser,
    OriginDep,
    SessionDep,
    StateDep,
)
from okr_gateway.schemas import LoginRequest, PasswordChange, Token, UserResponse
from okr_shared.errors import Invalid
from okr_shared.rpc import validation_details

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

CREDENTIALS: dict[str, Any] = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "grant_type": {"type": "string", "enum": ["password"]},
    },
}
LOGIN_BODY: dict[str, Any] = {  # documented by hand: the route reads either content type itself
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": CREDENTIALS},
        "application/json": {"schema": CREDENTIALS},
    },
}


@router.post(
    "/login",
    response_model=Token,
    openapi_extra={"requestBody": LOGIN_BODY},
    summary="Sign in with a username and password (OAuth2 password form, or JSON)",
    responses={429: {"description": "too many failed sign-ins: wait Retry-After seconds"}},
)
async def login(request: Request, gateway: StateDep, address: ClientAddress) -> Token:
    """Failed sign-ins are throttled per account and per client address: beyond a few, each
    locks them for a growing while (429 with Retry-After), up to a cap."""
    credentials = await _credentials(request)
    # No database session for the route: the password check must hold none (sign_in.py).
    user = await gateway.sign_in.sign_in(
        credentials.username, credentials.password.get_secret_value(), address
    )
    token, expires_in = gateway.tokens.issue(user.id, user.token_generation)
    return Token(access_token=token, expires_in=expires_in)


@router.post("/logout", status_code=204, summary="Sign out: ends every token of yours")
async def logout(user: CurrentUser, origin: OriginDep, db: SessionDep) -> Response:
    await service.sign_out(db, user, origin)
    await db.commit()
    return Response(status_code=204)


@router.post(
    "/password",
    response_model=Token,
    summary="Change your password: ends your other tokens and gives a new one",
)
async def change_password(
    change: PasswordChange, user: CurrentUser, gateway: StateDep, address: ClientAddress
) -> Token:
    changed = await gateway.sign_in.change_password(
        user,
        change.current_password.get_secret_value(),
        change.new_password.get_secret_value(),
        address,
    )
    token, expires_in = gateway.tokens.issue(changed.id, changed.token_generation)
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserResponse, summary="Who you are (with a token or a key)")
async def me(who: CallerDep) -> UserResponse:
    return UserResponse.model_validate(who.user)


async def _credentials(request: Request) -> LoginRequest:
    """Swagger UI's Authorize button posts a form; API clients often post JSON. Take both."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    raw: Any
    if content_type == "application/json":
        try:
            raw = json.loads(await request.body() or b"null")
        except ValueError:
            raise Invalid("the body is not valid JSON") from None
        except RecursionError:  # json raises it, not a ValueError, for deep nesting
            raise Invalid("the body's JSON is nested too deep") from None
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        raw = {k: v for k, v in form.items() if k in ("username", "password")}
    else:
        raise Invalid("send username and password as a form or as JSON")
    if not isinstance(raw, dict):
        raise Invalid("send an object with username and password")
    raw = {k: v for k, v in raw.items() if k in ("username", "password")}
    try:
        return LoginRequest.model_validate(raw)
    except ValidationError as err:
        raise Invalid(
            "username and password are required", details=validation_details(err)
        ) from None
