"""Every error the gateway answers with, rendered in one place.

A body is always `{"detail": "<what to fix>", "code": "<machine-readable>", "errors": [...]}`;
never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from okr_shared.errors import (
    Conflict,
    Forbidden,
    Internal,
    Invalid,
    NotFound,
    OkrError,
    Unavailable,
)
from okr_shared.faults import is_transient
from okr_shared.tracing import current_ids

log = logging.getLogger(__name__)

STATUS = {
    Invalid: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unavailable: 503,
    Internal: 500,
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class Unauthorized(OkrError):
    code = "unauthorized"


class UnsupportedMediaType(OkrError):
    """415: a body in a format the route does not read."""

    code = "unsupported_media_type"


class TooManyRequests(OkrError):
    """429, with the seconds to wait in Retry-After."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, details=[{"retry_after": retry_after_s}])
        self.retry_after_s = retry_after_s


class RateLimited(TooManyRequests):
    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"more than {limit} writes in a minute; try again in {retry_after_s} s", retry_after_s
        )


class SignInThrottled(TooManyRequests):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed sign-ins for this account or from this address; "
            f"try again in {retry_after_s} s",
            retry_after_s,
        )


def status_of(error: OkrError) -> int:
    if isinstance(error, Unauthorized):
        return 401
    if isinstance(error, TooManyRequests):
        return 429
    if isinstance(error, UnsupportedMediaType):
        return 415
    return next((status for cls, status in STATUS.items() if isinstance(error, cls)), 500)


def body(detail: str, code: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"detail": detail, "code": code, "errors": errors or []}


def install(app: FastAPI) -> None:
    app.add_exception_handler(OkrError, _okr_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _okr_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OkrError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse(
        body(exc.message, exc.code, exc.details), status_code=status, headers=headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors[:5])
    return JSONResponse(body(summary or "invalid request", "invalid", errors), status_code=422)


def _where(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    return ".".join(parts)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        body(str(exc.detail), CODES.get(exc.status_code, "error")),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_transient(exc):  # the gateway's own database is away: try again, not a bug
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        detail = "the database is unavailable; try again shortly"
        return JSONResponse(body(detail, "unavailable"), status_code=503)
    # The request's trace id, which its X-Request-Id header and every log line it caused carry.
    error_id = current_ids()[0] or uuid4().hex[:12]
    log.error(
        "unexpected error on %s %s (error id %s)",
        request.method,
        request.url.path,
        error_id,
        exc_info=exc,
    )
    return JSONResponse(body(f"internal error (id {error_id})", "internal"), status_code=500)
