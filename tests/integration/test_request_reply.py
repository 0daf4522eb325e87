"""Request/reply on FastStream (okr_shared.rpc), against a real NATS server: typed results,
refusals that keep their kind, an answer at once for a request that does not validate or a
handler that fails, and answers larger than a NATS message may be."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from faststream.nats import NatsBroker
from prometheus_client import REGISTRY
from pydantic import BaseModel, Field

from okr_shared import rpc
from okr_shared.contracts.endpoint import REFUSED, RpcEndpoint
from okr_shared.embedded import EmbeddedNats, free_port
from okr_shared.errors import Conflict, Internal, Invalid, NotFound, Unavailable


class Question(BaseModel):
    number: int = Field(ge=0)


class Answer(BaseModel):
    number: int
    words: list[str]


DOUBLE = RpcEndpoint("test.rpc.double", Question, Answer, (NotFound, Conflict))
NOTHING = RpcEndpoint("test.rpc.nothing", Question, type(None))
FAILING = RpcEndpoint("test.rpc.failing", Question, Answer)
LARGE = RpcEndpoint("test.rpc.large", Question, Answer, (NotFound,), chunked=True)
RENDERED = RpcEndpoint("test.rpc.rendered", Question, list[int], chunked=True)
UNDECLARED = RpcEndpoint("test.rpc.undeclared", Question, Answer)  # large, but not chunked
NOBODY = RpcEndpoint("test.rpc.nobody", Question, Answer)
NOBODY_CHUNKED = RpcEndpoint("test.rpc.nobody", Question, Answer, chunked=True)


def refused(subject: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "okr_rpc_requests_total", {"subject": subject, "outcome": "error"}
        )
        or 0.0
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def broker(server: EmbeddedNats) -> AsyncIterator[NatsBroker]:
    router = rpc.RpcRouter(queue="test")

    @router.serve(DOUBLE)
    async def double(question: Question) -> Answer:
        if question.number == 404:
            raise NotFound("no such number", details=[{"loc": ["number"], "msg": "missing"}])
        if question.number == 409:
            raise Conflict("that number changed")
        return Answer(number=question.number * 2, words=["two"])

    @router.serve(NOTHING)
    async def nothing(_: Question) -> None:
        return None

    @router.serve(FAILING)
    async def failing(_: Question) -> Answer:
        raise RuntimeError("a bug")

    @router.serve(LARGE)
    async def large(question: Question) -> Answer:
        if question.number == 404:
            raise NotFound("no such number")
        # ~3 MB of JSON: six chunks of at most 512 KiB, past NATS's 1 MiB message limit.
        return Answer(number=question.number, words=["word"] * 400_000)

    @router.serve(UNDECLARED)
    async def undeclared(question: Question) -> Answer:
        return Answer(number=question.number, words=["word"] * 400_000)

    @router.serve(RENDERED)
    async def rendered(question: Question) -> bytes:
        return b"[" + b",".join(b"%d" % n for n in range(question.number)) + b"]"

    broker = NatsBroker(server.url, log_level=10)
    router.serve_on(broker)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def test_a_typed_request_gets_its_typed_result(broker: NatsBroker) -> None:
    answer = await rpc.ask(broker, DOUBLE, Question(number=21))
    assert answer == Answer(number=42, words=["two"])
    assert await rpc.ask(broker, NOTHING, Question(number=1)) is None


async def test_a_refusal_arrives_as_its_own_kind_with_its_details(broker: NatsBroker) -> None:
    with pytest.raises(NotFound) as missing:
        await rpc.ask(broker, DOUBLE, Question(number=404))
    assert missing.value.message == "no such number"
    assert missing.value.details == [{"loc": ["number"], "msg": "missing"}]
    with pytest.raises(Conflict, match="that number changed"):
        await rpc.ask(broker, DOUBLE, Question(number=409))


async def test_a_failing_handler_is_answered_at_once_with_an_error_id(broker: NatsBroker) -> None:
    started = time.perf_counter()
    with pytest.raises(Internal, match=r"internal error \(id [0-9a-f]{12}\)"):
        await rpc.ask(broker, FAILING, Question(number=1), timeout=5)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"not json", None),
        (b"{not json", {"content-type": "application/json"}),
        (b'{"number": -1}', {"content-type": "application/json"}),
        (b"", None),
    ],
)
async def test_a_request_that_does_not_validate_is_refused_at_once(
    server: EmbeddedNats, broker: NatsBroker, body: bytes, headers: dict[str, str] | None
) -> None:
    """Whatever the caller sends, a refusal comes back, never a timeout; and it is counted."""
    before = refused(DOUBLE.subject)
    client = await nats.connect(server.url)
    try:
        reply = await client.request(DOUBLE.subject, body, timeout=1, headers=headers)
    finally:
        await client.close()
    assert reply.headers is not None and reply.headers[REFUSED] == Invalid.code
    error = json.loads(reply.data)
    assert error["code"] == Invalid.code and error["message"] == "malformed request"
    assert error["details"]
    assert refused(DOUBLE.subject) == before + 1


async def test_a_refusal_names_the_fields_of_the_request_itself(
    server: EmbeddedNats, broker: NatsBroker
) -> None:
    client = await nats.connect(server.url)
    try:
        reply = await client.request(DOUBLE.subject, b'{"number": -1}', timeout=1)
    finally:
        await client.close()
    assert [d["loc"] for d in json.loads(reply.data)["details"]] == [["number"]]


async def test_an_answer_larger_than_a_nats_message_arrives_whole(broker: NatsBroker) -> None:
    answer = await rpc.ask(broker, LARGE, Question(number=7))
    assert answer.number == 7 and len(answer.words) == 400_000
    with pytest.raises(NotFound, match="no such number"):
        await rpc.ask(broker, LARGE, Question(number=404))
    numbers = await rpc.ask_json(broker, RENDERED, Question(number=300_000))
    assert len(numbers) > 1024 * 1024
    assert await rpc.ask(broker, RENDERED, Question(number=3)) == [0, 1, 2]


async def test_an_answer_too_large_for_its_endpoint_is_refused_not_lost(
    broker: NatsBroker,
) -> None:
    """An endpoint that should have been declared chunked: its caller hears why at once."""
    started = time.perf_counter()
    with pytest.raises(Internal, match=r"internal error \(id [0-9a-f]{12}\)"):
        await rpc.ask(broker, UNDECLARED, Question(number=1), timeout=5)
    assert time.perf_counter() - started < 1
    assert refused(UNDECLARED.subject) == 1


async def test_a_subject_nobody_serves_is_unavailable_at_once(broker: NatsBroker) -> None:
    started = time.perf_counter()
    with pytest.raises(Unavailable, match="the rpc service did not answer"):
        await rpc.ask(broker, NOBODY, Question(number=1), timeout=5)
    with pytest.raises(Unavailable, match="the rpc service did not answer"):
        await rpc.ask(broker, NOBODY_CHUNKED, Question(number=1), timeout=5)
    assert time.perf_counter() - started < 1
