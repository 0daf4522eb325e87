"""Every HTTP request: a span (continuing the caller's `traceparent`, if sent), its count and
latency by route template, and an `X-Request-Id` header that names its trace. A user who
reports a problem quotes that id; it is in every log line of every service the request reached.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which adds a task and a copy of the body
to every request.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from okr_shared import metrics, tracing

REQUEST_ID = b"x-request-id"


class TracedFastAPI(FastAPI):
    """FastAPI with telemetry outside even Starlette's ServerErrorMiddleware: `add_middleware`
    would put it inside, and an unexpected error's 500, its log line and its latency would
    fall outside the request's span."""

    def build_middleware_stack(self) -> ASGIApp:
        return TelemetryMiddleware(super().build_middleware_stack())


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        started = time.perf_counter()
        status = 500  # what the server sends if the app fails before answering
        incoming = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key == b"traceparent"
        }
        with tracing.span(f"{method} http", incoming, kind=tracing.SpanKind.SERVER) as current:
            request_id = tracing.current_ids()[0].encode()

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if request_id:  # none when tracing is off (OTEL_SDK_DISABLED)
                        message["headers"] = [*message.get("headers", []), (REQUEST_ID, request_id)]
                    metrics.HTTP_LATENCY.labels(method, _route(scope)).observe(
                        time.perf_counter() - started
                    )
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except Exception as err:  # answered 500 already, by the error handler inside
                current.record_exception(err)
                current.set_status(trace.StatusCode.ERROR)
                raise
            finally:
                route = _route(scope)
                current.update_name(f"{method} {route}")
                current.set_attribute("http.response.status_code", status)
                metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()


def _route(scope: Scope) -> str:
    """The route's template (`/api/v1/objectives/{objective_id}`): one series per route, not
    per id. A path no route matched counts as `unmatched`."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))
