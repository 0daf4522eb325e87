"""Request/reply between the gateway and the services, on FastStream, with errors that survive
the trip.

A handler is a FastStream subscriber that takes one pydantic request model and returns its
result: FastStream parses the request and publishes the result to the caller's reply subject,
and callers ask with the broker's own `request` (`ask`). A refusal is a reply whose header
`Okr-Error` names its code, with `{code, message, details}` as its body. A request that does
not validate is refused as `invalid` by FastStream's `ExceptionMiddleware`, and whatever a
handler raises is refused too, so a caller never waits out a timeout for a bad request.

Some answers may be larger than a NATS message may be (a whole tree, the ancestors of a
10,000-deep chain, an export): their endpoints are declared `chunked`, and the reply comes in
numbered chunks (headers `Okr-Chunk`, `Okr-Chunks`) on the caller's own inbox, the last one
FastStream's reply. Core NATS keeps one publisher's messages in order, so the caller joins them.
A chunked handler may return the JSON bytes of its result itself (a tree rendered to JSON), and
`ask_json` hands them on unparsed.
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
from faststream import BaseMiddleware, ContextRepo, ExceptionMiddleware, StreamMessage
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker, NatsResponse, NatsRouter
from faststream.response import PublishCommand
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, TypeAdapter, ValidationError

from okr_shared import metrics, tracing
from okr_shared.contracts.endpoint import REFUSED, RpcEndpoint
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
REQUEST = "request"  # the name FastStream knows a handler's request by


def validation_details(err: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in err.errors(include_url=False, include_context=False, include_input=False)
    ]


def refusal(error: OkrError) -> NatsResponse:
    return NatsResponse(error.to_dict(), headers={REFUSED: error.code})


def _malformed(err: ValidationError) -> Any:
    """FastStream validates the request against the handler's model before our code runs; this
    answers a request that does not validate (our handlers turn their own errors into
    refusals, so a ValidationError that reaches here is the request's). Its locations are the
    request's own: FastStream's wrapper names the handler's parameter first."""
    details = validation_details(err)
    for detail in details:
        if detail["loc"][:1] == [REQUEST]:
            detail["loc"] = detail["loc"][1:]
    return refusal(Invalid("malformed request", details=details))


async def _json_or_bytes(message: StreamMessage[Any], decode: Callable[..., Awaitable[Any]]) -> Any:
    """FastStream's decoder, except that a body that is not JSON is handed on as it is, so the
    request model refuses it (above) rather than the decoder failing before any reply."""
    try:
        return await decode(message)
    except ValueError:
        return message.body


@dataclass(frozen=True)
class Chunked:
    """A chunked endpoint's answer: the JSON bytes of its result."""

    body: bytes


class _Answering(BaseMiddleware):
    """Around every request/reply handler of a router: the caller's trace goes on (so this
    service's log lines carry its id), the answer is timed and counted, and a chunked answer's
    first parts are sent (the last is FastStream's own reply).

    A middleware rather than a parameter of the handler: FastStream injects a `Context()`
    parameter (the message) by solving it in a worker thread, which was a thread hop per
    request (`run_in_threadpool` in a profile of the objectives service under
    `list_objectives`)."""

    def __init__(self, msg: Any, /, *, context: ContextRepo, router: RpcRouter) -> None:
        super().__init__(msg, context=context)
        self.router = router

    async def consume_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        subject: str = msg.raw_message.subject
        started = time.perf_counter()
        try:
            with tracing.span(subject, msg.headers, kind=tracing.SpanKind.SERVER):
                reply = await call_next(msg)
                if isinstance(reply, Chunked):
                    reply = await self.router.in_chunks(reply.body, msg.reply_to)
                return reply
        except ValidationError:  # the request's: FastStream's ExceptionMiddleware answers it
            raise
        except Exception as err:  # a chunk that could not be sent: answer, never a timeout
            return _unexpected(subject, err)
        finally:
            self.router.meters(subject)[1].observe(time.perf_counter() - started)

    async def publish_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], cmd: PublishCommand
    ) -> Any:
        """The reply, counted by its outcome; one larger than a NATS message may be (an
        endpoint that should have been declared chunked) becomes a refusal, not a timeout."""
        if self.msg is None:  # not a reply (no middleware of ours publishes anything else)
            return await call_next(cmd)
        subject: str = self.msg.subject
        outcomes, _ = self.router.meters(subject)
        refused = REFUSED in cmd.headers
        try:
            sent = await call_next(cmd)
        except nats.errors.MaxPayloadError as err:
            outcomes["error"].inc()
            reply = _unexpected(subject, err)
            return await self.router.publish(reply, cmd.destination)
        outcomes["error" if refused else "ok"].inc()
        return sent


@dataclass(frozen=True)
class RpcContract:
    """What a request/reply subject takes and answers, for the AsyncAPI document's replies
    (FastStream documents what a subscriber takes, not what it answers)."""

    request: type[BaseModel]
    result: object  # the handler's return annotation; Any for raw JSON of unknown shape
    refuses: tuple[type[OkrError], ...] = ()


CONTRACTS: dict[str, RpcContract] = {}  # by subject, as routes are registered


class RpcRouter:
    """A `NatsRouter` whose subscribers are request/reply handlers in one queue group."""

    def __init__(self, queue: str) -> None:
        self.router = NatsRouter(
            middlewares=[
                ExceptionMiddleware(publish_handlers={ValidationError: _malformed}),
                functools.partial(_Answering, router=self),
            ]
        )
        self.queue = queue
        self._broker: NatsBroker | None = None
        self._meters: dict[str, tuple[dict[str, Counter], Histogram]] = {}

    def meters(self, subject: str) -> tuple[dict[str, Counter], Histogram]:
        """The counters (by outcome) and the latency histogram of one subject."""
        found = self._meters.get(subject)
        if found is None:
            outcomes = {o: metrics.RPC_REQUESTS.labels(subject, o) for o in ("ok", "error")}
            found = self._meters[subject] = (outcomes, metrics.RPC_LATENCY.labels(subject))
        return found

    def serve_on(self, broker: NatsBroker) -> None:
        """Include these routes in `broker`, which also sends a chunked answer's first parts."""
        broker.include_router(self.router)
        self._broker = broker

    def serve(
        self, endpoint: RpcEndpoint[Req, Resp]
    ) -> Callable[[Callable[[Req], Awaitable[Any]]], Callable[[Req], Awaitable[Any]]]:
        """Serve a declared endpoint; the handler must take its request model (and may return
        the JSON bytes of its result if the endpoint is chunked)."""

        def register(handler: Callable[[Req], Awaitable[Any]]) -> Callable[[Req], Awaitable[Any]]:
            if _request_model(handler) is not endpoint.request:
                raise TypeError(
                    f"{handler.__name__} serves {endpoint.subject}: it must take "
                    f"{endpoint.request.__name__}"
                )
            subscribe = self._register(
                endpoint.subject,
                queue=True,
                chunked=endpoint.chunked,
                result=endpoint.result,
                refuses=endpoint.refuses,
            )
            return subscribe(handler)

        return register

    def route(
        self, subject: str, *, queue: bool = True, chunked: bool = False, result: object = None
    ) -> Callable[[Handler[Req]], Handler[Req]]:
        """A handler of a subject that is not one declared endpoint (the pings and documents
        every service answers on a subject of its own)."""
        return self._register(subject, queue=queue, chunked=chunked, result=result)

    def _register(
        self,
        subject: str,
        *,
        queue: bool,
        chunked: bool,
        result: object = None,
        refuses: tuple[type[OkrError], ...] = (),
    ) -> Callable[[Handler[Req]], Handler[Req]]:
        def register(handler: Handler[Req]) -> Handler[Req]:
            model = _request_model(handler)
            answers = result if result is not None else get_type_hints(handler).get("return")
            CONTRACTS[subject] = RpcContract(model, answers, refuses)
            encode = _adapter(cast(Hashable, answers)).dump_json if chunked else None

            async def answer(request: Any) -> Any:
                reply = await _answer(handler, request)
                if encode is None or isinstance(reply, NatsResponse):
                    return reply
                return Chunked(reply if isinstance(reply, bytes) else encode(reply))

            # FastStream reads the request model (to parse and to document it) from here.
            answer.__annotations__ = {REQUEST: model}
            answer.__name__ = handler.__name__
            self.router.subscriber(
                subject,
                queue=self.queue if queue else "",
                decoder=_json_or_bytes,
                max_workers=CONCURRENT_REQUESTS,
                title=subject,
                description=inspect.getdoc(handler),
            )(answer)
            return handler

        return register

    async def publish(self, reply: NatsResponse, reply_to: str) -> None:
        assert self._broker is not None, "serve_on(broker) first"
        await self._broker.publish(reply.body, reply_to, headers=reply.headers)

    async def in_chunks(self, body: bytes, reply_to: str) -> NatsResponse:
        """Send all but the last chunk now; FastStream sends the last as the reply."""
        count = max(1, -(-len(body) // CHUNK_BYTES))
        if count > 1 and reply_to:
            assert self._broker is not None, "serve_on(broker) first"
            for index in range(count - 1):
                part = body[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
                headers = {CHUNK: str(index), CHUNKS: str(count)}
                await self._broker.publish(part, reply_to, headers=headers)
        last = body[(count - 1) * CHUNK_BYTES :]
        return NatsResponse(last, headers={CHUNK: str(count - 1), CHUNKS: str(count)})


async def _answer(handler: Handler[Req], request: Req) -> Any:
    """The handler's result, or the refusal that says why there is none."""
    try:
        return await handler(request)
    except OkrError as err:
        return refusal(err)
    except Exception as err:
        return _unexpected(handler.__name__, err)


def _unexpected(where: str, err: Exception) -> NatsResponse:
    if is_transient(err):
        log.warning("%s: %s", where, err)
        return refusal(Unavailable("a backing service is unavailable; try again shortly"))
    # A request has no redelivery: answer now, with an id that finds the traceback in the log.
    error_id = uuid4().hex[:12]
    log.error("unexpected error in %s (error id %s)", where, error_id, exc_info=err)
    return refusal(Internal(f"internal error (id {error_id})"))


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
    if endpoint.chunked:
        body = await call_json(broker, endpoint.subject, request, timeout=timeout)
        result: Resp = _adapter(cast(Hashable, endpoint.result)).validate_json(body)
        return result
    return await call(broker, endpoint.subject, request, endpoint.result, timeout=timeout)


async def call(
    broker: NatsBroker,
    subject: str,
    request: BaseModel,
    result_type: type[Resp] | Any,
    *,
    timeout: float = 5.0,
) -> Resp:
    """Ask one service on a subject of its own and return its typed result, or raise the error
    it answered with."""
    try:
        answer = await broker.request(request, subject, headers=tracing.inject({}), timeout=timeout)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError) as err:
        raise _no_answer(subject) from err
    except (nats.errors.Error, IncorrectState, AttributeError) as err:  # not connected (yet)
        raise Unavailable("the message bus is unavailable; try again shortly") from err
    if REFUSED in answer.headers:
        raise error_from_dict(json.loads(answer.body))
    # An empty body is a handler's None.
    result: Resp = _adapter(cast(Hashable, result_type)).validate_json(answer.body or b"null")
    return result


async def ask_json(
    broker: NatsBroker, endpoint: RpcEndpoint[Req, Any], request: Req, *, timeout: float = 5.0
) -> bytes:
    """The JSON bytes of a chunked endpoint's result, joined and not parsed."""
    return await call_json(broker, endpoint.subject, request, timeout=timeout)


async def call_json(
    broker: NatsBroker, subject: str, request: BaseModel, *, timeout: float = 5.0
) -> bytes:
    """`ask_json` on a subject of its own. A chunked answer comes as several messages, which
    the broker's `request` (one answer) cannot take: they are read on an inbox of our own."""
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
            headers={"content-type": "application/json", **tracing.inject({})},
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
            if REFUSED in headers:
                raise error_from_dict(json.loads(msg.data))
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
