"""A limit on the size of request bodies, applied before anything reads them.

A body whose `Content-Length` is over the limit is answered 413 at once, unread. One without
(chunked) is counted as it arrives and refused as soon as it passes the limit. Either way that
happens before authentication, which FastAPI does only after it has read and parsed the body:
without a limit a 50 MB body was read and parsed only to be answered 401.

Plain ASGI, like the telemetry middleware. Starlette's RequestBodyLimitMiddleware (FastAPI's
`max_body_size`) was not enough: its limit per route is fixed when the route is declared, not
read from the settings, and an over-long `Content-Length` gets a plain-text 413 rather than the
JSON error every other answer has.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from okr_gateway.errors import body


class BodyLimit:
    def __init__(self, app: ASGIApp, *, default: int, per_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)  # exact paths that take more (the bulk batch route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received, started = 0, False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if started:  # too late for a 413: to the app, the client is gone
                        return {"type": "http.disconnect"}
                    raise HTTPException(413, _message(limit))
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, watched_send)


def _message(limit: int) -> str:
    return f"the request body is larger than this route takes ({limit:,} bytes); send less"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(body(_message(limit), "too_large"), status_code=413)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
