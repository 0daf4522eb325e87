"""Request/reply between the gateway and the services, with errors that survive the trip.

A reply is `{"ok": true, "result": ...}` or `{"ok": false, "error": {code, message, details}}`.
Handlers take one pydantic request model and return a pydantic model (or None); a domain error
they raise becomes an error reply, so the caller never waits out a timeout for a bad request.

Replies travel in numbered chunks (headers `Okr-Chunk`, `Okr-Chunks`) on the caller's own inbox:
almost always one, but a whole tree or a 10,000-long list of ancestors is larger than a NATS
message may be. Core NATS keeps one publisher's messages in order, so the caller joins them.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast, get_type_hints
from uuid import uuid4

import nats.errors
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker, NatsMessage, NatsRouter
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from okr_shared import metrics, tracing
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.errors import Internal, Invalid, OkrError, Unavailable, error_from_dict
from okr_shared.faults import is_transient

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp")
Handler = Callable[[Req], Awaitable[Any]]

# Requests a process handles at once; the database pool (10 + 10 overflow) bounds real work.
CONCURRENT_REQUESTS = 16
CHUNK_BYTES = 512 * 1024  # well under NATS's default 1 MiB message limit
CHUNK = "Okr-Chunk"
CHUNKS = "Okr-Chunks"
OK_PREFIX = b'{"ok": true, "result": '


def ok(result: Any) -> bytes:
    return json.dumps({"ok": True, "result": to_jsonable_python(result)}).encode()


def ok_raw(result: Any) -> bytes:
    """For handlers that return the JSON bytes of their result themselves (a whole tree)."""
    assert isinstance(result, bytes), "a raw handler returns the JSON bytes of its result"
    return OK_PREFIX + result + b"}"


def failed(error: OkrError) -> bytes:
    return json.dumps({"ok": False, "error": error.to_dict()}).encode()


def validation_details(err: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in err.errors(include_url=False, include_context=False, include_input=False)
    ]


async def dispatch(
    handler: Handler[Req], model: type[Req], body: bytes, encode: Callable[[Any], bytes] = ok
) -> bytes:
    try:
        request = model.model_validate_json(body)
    except ValidationError as err:
        return failed(Invalid("malformed request", details=validation_details(err)))
    try:
        return encode(await handler(request))
    except OkrError as err:
        return failed(err)
    except Exception as err:
        if is_transient(err):
            log.warning("%s: %s", handler.__name__, err)
            return failed(Unavailable("a backing service is unavailable; try again shortly"))
        # A request has no redelivery: answer now, with an id that finds the traceback in the log.
        error_id = uuid4().hex[:12]
        log.exception("unexpected error in %s (error id %s)", handler.__name__, error_id)
        return failed(Internal(f"internal error (id {error_id})"))


async def _raw_body(msg: NatsMessage) -> bytes:
    """Hand the handler the bytes: FastStream would parse JSON itself and, on a bad body, fail
    before our handler could answer, leaving the caller to wait for its timeout."""
    return msg.body


async def send_reply(client: NatsClient, reply_to: str, reply: bytes) -> None:
    if not reply_to:
        return
    count = max(1, -(-len(reply) // CHUNK_BYTES))
    for index in range(count):
        part = reply[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
        await client.publish(reply_to, part, headers={CHUNK: str(index), CHUNKS: str(count)})


@dataclass(frozen=True)
class RpcContract:
    """What a request/reply subject takes and answers, for the AsyncAPI document: FastStream
    sees only the raw bytes our handlers are given."""

    request: type[BaseModel]
    result: object  # the handler's return annotation; Any for raw JSON of unknown shape
    refuses: tuple[type[OkrError], ...] = ()


CONTRACTS: dict[str, RpcContract] = {}  # by subject, as routes are registered


class RpcRouter:
    """A `NatsRouter` whose routes are request/reply handlers in one queue group."""

    def __init__(self, queue: str) -> None:
        self.router = NatsRouter()
        self.queue = queue
        self._broker: NatsBroker | None = None

    def serve_on(self, broker: NatsBroker) -> None:
        """Include these routes in `broker`; their replies go out on its connection (nats-py
        gives a received message's client no public name, and FastStream's injected `Client`
        is resolved per message)."""
        broker.include_router(self.router)
        self._broker = broker

    def _connection(self) -> NatsClient:
        assert self._broker is not None, "serve_on(broker) first"
        return self._broker.connection

    def route(self, subject: str, *, queue: bool = True) -> Callable[[Handler[Req]], Handler[Req]]:
        return self._register(subject, ok, queue=queue)

    def serve(
        self, endpoint: RpcEndpoint[Req, Resp]
    ) -> Callable[[Callable[[Req], Awaitable[Resp]]], Callable[[Req], Awaitable[Resp]]]:
        """Serve a declared endpoint; the handler must take its request model."""

        def register(
            handler: Callable[[Req], Awaitable[Resp]],
        ) -> Callable[[Req], Awaitable[Resp]]:
            if _request_model(handler) is not endpoint.request:
                raise TypeError(
                    f"{handler.__name__} serves {endpoint.subject}: it must take "
                    f"{endpoint.request.__name__}"
                )
            register_as = self._register(
                endpoint.subject, ok, queue=True, result=endpoint.result, refuses=endpoint.refuses
            )
            return register_as(handler)

        return register

    def route_raw(
        self, subject: str, *, result: object = Any
    ) -> Callable[[Handler[Req]], Handler[Req]]:
        """The handler returns the JSON bytes of its result (of type `result`, for the
        document); see `call_raw`."""
        return self._register(subject, ok_raw, queue=True, result=result)

    def _register(
        self,
        subject: str,
        encode: Callable[[Any], bytes],
        *,
        queue: bool,
        result: object = None,
        refuses: tuple[type[OkrError], ...] = (),
    ) -> Callable[[Handler[Req]], Handler[Req]]:
        def register(handler: Handler[Req]) -> Handler[Req]:
            model = _request_model(handler)
            answers = result if result is not None else get_type_hints(handler).get("return")
            CONTRACTS[subject] = RpcContract(model, answers, refuses)

            requests = {o: metrics.RPC_REQUESTS.labels(subject, o) for o in ("ok", "error")}
            latency = metrics.RPC_LATENCY.labels(subject)

            async def endpoint(msg: NatsMessage) -> None:
                started = time.perf_counter()
                # The caller's trace goes on here, so this service's log lines carry its id.
                with tracing.span(subject, msg.headers, kind=tracing.SpanKind.SERVER):
                    reply = await dispatch(handler, model, msg.body, encode=encode)
                latency.observe(time.perf_counter() - started)
                requests["ok" if reply.startswith(OK_PREFIX) else "error"].inc()
                await send_reply(self._connection(), msg.reply_to, reply)

            endpoint.__name__ = handler.__name__
            self.router.subscriber(
                subject,
                queue=self.queue if queue else "",
                decoder=_raw_body,
                max_workers=CONCURRENT_REQUESTS,
                no_reply=True,
                title=subject,
                description=inspect.getdoc(handler),
            )(endpoint)
            return handler

        return register


def _request_model(handler: Handler[Req]) -> type[Req]:
    hints = get_type_hints(handler)
    hints.pop("return", None)
    (model,) = hints.values()
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{handler.__name__}: its one parameter must be a pydantic model")
    return cast(type[Req], model)


async def ask(
    broker: NatsBroker,
    endpoint: RpcEndpoint[Req, Resp],
    request: Req,
    *,
    timeout: float = 5.0,
) -> Resp:
    """Call a declared endpoint: its typed result, or the error it answered with."""
    return await call(broker, endpoint.subject, request, endpoint.result, timeout=timeout)


async def call(
    broker: NatsBroker,
    subject: str,
    request: BaseModel,
    result_type: type[Resp] | Any,
    *,
    timeout: float = 5.0,
) -> Resp:
    """Ask one service and return its typed result, or raise the error it answered with."""
    envelope = json.loads(await _ask(broker, subject, request, timeout))
    if not envelope.get("ok"):
        raise error_from_dict(envelope.get("error") or {})
    result: Resp = _adapter(cast(Hashable, result_type)).validate_python(envelope.get("result"))
    return result


async def call_raw(
    broker: NatsBroker, subject: str, request: BaseModel, *, timeout: float = 5.0
) -> bytes:
    """The JSON bytes of the result, not parsed (a `route_raw` handler's answer)."""
    reply = await _ask(broker, subject, request, timeout)
    if reply.startswith(OK_PREFIX):
        return reply[len(OK_PREFIX) : -1]
    raise error_from_dict(json.loads(reply).get("error") or {})


async def _ask(broker: NatsBroker, subject: str, request: BaseModel, timeout: float) -> bytes:
    try:
        client = broker.connection
        inbox = client.new_inbox()
        subscription = await client.subscribe(inbox)
    except (nats.errors.Error, IncorrectState, AttributeError) as err:  # not connected (yet)
        raise Unavailable("the message bus is unavailable; try again shortly") from err
    try:
        await client.publish(
            subject,
            request.model_dump_json().encode(),
            reply=inbox,
            headers=tracing.inject({}) or None,
        )
        parts: list[bytes] = []
        expected = 1
        while len(parts) < expected:
            try:
                msg = await subscription.next_msg(timeout=timeout)
            except (nats.errors.TimeoutError, TimeoutError) as err:
                raise _no_answer(subject) from err
            headers = msg.headers or {}
            if headers.get("Status") == "503":  # the server's "no responders"
                raise _no_answer(subject)
            if int(headers.get(CHUNK, -1)) != len(parts):
                raise Unavailable(f"the answer to {subject} arrived incomplete; try again")
            expected = int(headers.get(CHUNKS, 1))
            parts.append(msg.data)
        return b"".join(parts)
    except nats.errors.Error as err:
        raise Unavailable("the message bus is unavailable; try again shortly") from err
    finally:
        try:
            await subscription.unsubscribe()
        except nats.errors.Error:
            log.debug("could not unsubscribe %s", inbox)


def _no_answer(subject: str) -> Unavailable:
    service = subject.split(".")[1] if subject.count(".") >= 2 else subject
    return Unavailable(f"the {service} service did not answer; try again shortly")


@functools.cache
def _adapter(result_type: Hashable) -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, result_type))
