"""The batch consumer every service uses: good messages handled, bad ones dead-lettered with
their reason, transient failures redelivered rather than dead-lettered."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from pydantic import BaseModel

from okr_shared.consumer import BatchConsumer, Delivery
from okr_shared.streams import ensure_streams
from okr_shared.subjects import Stream
from tests.support.system import eventually


class Thing(BaseModel):
    n: int
    fail: str = ""


@pytest.fixture
async def client(nats_url: str) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_url)
    yield connection
    await connection.close()


@pytest.fixture
async def stream(client: Client) -> Stream:
    tag = secrets.token_hex(3)
    test_stream = Stream(f"TEST_{tag.upper()}", (f"test.{tag}.>",), max_age=timedelta(minutes=30))
    await ensure_streams(client.jetstream(), (test_stream,))
    return test_stream


async def started(
    client: Client, stream: Stream, handle: Any, *, max_attempts: int, retry_pause_s: float
) -> BatchConsumer[Thing]:
    """A running consumer of `Thing`s on the test stream."""
    consumer = BatchConsumer(
        client,
        stream=stream,
        durable="test",
        filter_subject=stream.subjects[0],
        payload=Thing,
        handle=handle,
        max_attempts=max_attempts,
        retry_pause_s=retry_pause_s,
    )
    await consumer.start()
    return consumer


async def dead_letters(client: Client, stream: Stream, expected: int) -> list[nats.aio.msg.Msg]:
    subscription = await client.jetstream().pull_subscribe(">", stream=stream.dlq_name)
    found: list[nats.aio.msg.Msg] = []

    async def all_there() -> bool:
        try:
            found.extend(await subscription.fetch(expected - len(found), timeout=0.2))
        except TimeoutError:
            pass
        return len(found) >= expected

    await eventually(all_there, timeout_s=10)
    return found


async def test_bad_messages_are_dead_lettered_with_their_reason(
    client: Client, stream: Stream
) -> None:
    handled: list[int] = []

    async def handle(batch: list[Delivery[Thing]]) -> None:
        for delivery in batch:
            if delivery.event.fail == "always":
                raise ValueError(f"cannot handle {delivery.event.n}")
        handled.extend(d.event.n for d in batch)

    subject = stream.subjects[0].replace(">", "things")
    consumer = await started(client, stream, handle, max_attempts=3, retry_pause_s=0.1)
    try:
        js = client.jetstream()
        await js.publish(subject, b'{"n": 1}')
        await js.publish(subject, b"this is not json", headers={"Nats-Msg-Id": "producer-key-1"})
        await js.publish(subject, b'{"n": "seven"}')
        await js.publish(subject, b'{"n": 2, "fail": "always"}')
        await js.publish(subject, b'{"n": 3}')

        parked = await dead_letters(client, stream, expected=3)
    finally:
        await consumer.stop()

    assert sorted(handled) == [1, 3]  # the poison message did not hold back its neighbours
    by_payload = {m.data: m.headers or {} for m in parked}
    assert set(by_payload) == {
        b"this is not json",
        b'{"n": "seven"}',
        b'{"n": 2, "fail": "always"}',
    }
    assert by_payload[b"this is not json"]["Okr-Dlq-Reason"].startswith("invalid payload: ")
    assert by_payload[b"this is not json"]["Okr-Original-Msg-Id"] == "producer-key-1"
    assert "Input should be a valid integer" in by_payload[b'{"n": "seven"}']["Okr-Dlq-Reason"]
    failed = by_payload[b'{"n": 2, "fail": "always"}']
    assert failed["Okr-Dlq-Reason"] == "failed 3 times: cannot handle 2"
    assert failed["Okr-Original-Subject"] == subject
    assert failed["Okr-Consumer"] == "test"
    for message in parked:
        assert message.subject == f"dlq.{subject}"

    info = await client.jetstream().consumer_info(stream.name, "test")
    assert info.num_ack_pending == 0 and info.num_pending == 0  # everything acknowledged


async def test_transient_failures_are_redelivered_not_dead_lettered(
    client: Client, stream: Stream
) -> None:
    outages = 2
    handled: list[int] = []

    async def handle(batch: list[Delivery[Thing]]) -> None:
        nonlocal outages
        if outages:
            outages -= 1
            raise ConnectionRefusedError("database is down")
        handled.extend(d.event.n for d in batch)

    consumer = await started(client, stream, handle, max_attempts=1, retry_pause_s=0.05)
    try:
        for n in range(5):
            await client.jetstream().publish(
                stream.subjects[0].replace(">", "x"), json.dumps({"n": n}).encode()
            )

        async def all_handled() -> bool:
            return sorted(handled) == [0, 1, 2, 3, 4]

        await eventually(all_handled, timeout_s=10)
    finally:
        await consumer.stop()
    info = await client.jetstream().stream_info(stream.dlq_name)
    assert info.state.messages == 0  # max_attempts=1, yet an outage is not the message's fault


async def test_only_the_messages_own_failures_count_towards_dead_lettering(
    client: Client, stream: Stream
) -> None:
    outages = 3
    handled: list[int] = []

    async def handle(batch: list[Delivery[Thing]]) -> None:
        nonlocal outages
        if outages:
            outages -= 1
            raise ConnectionResetError("database connection lost")
        for delivery in batch:
            if delivery.event.fail:
                raise ValueError("bad row")
        handled.extend(d.event.n for d in batch)

    consumer = await started(client, stream, handle, max_attempts=2, retry_pause_s=0.05)
    try:
        subject = stream.subjects[0].replace(">", "x")
        for n in range(4):
            body = {"n": n, "fail": "yes"} if n == 2 else {"n": n}
            await client.jetstream().publish(subject, json.dumps(body).encode())
        parked = await dead_letters(client, stream, expected=1)
    finally:
        await consumer.stop()
    assert sorted(handled) == [0, 1, 3]
    assert (parked[0].headers or {})["Okr-Dlq-Reason"] == "failed 2 times: bad row"


async def test_a_deleted_consumer_is_declared_again_and_goes_on(
    client: Client, stream: Stream
) -> None:
    seen: list[int] = []

    async def handle(batch: list[Delivery[Thing]]) -> None:
        seen.extend(d.event.n for d in batch)

    consumer = await started(client, stream, handle, max_attempts=3, retry_pause_s=0.1)
    js = client.jetstream()
    subject = stream.subjects[0].replace(">", "x")
    try:
        await js.publish(subject, Thing(n=1).model_dump_json().encode())

        async def first() -> bool:
            return seen == [1]

        await eventually(first, timeout_s=10)
        await js.delete_consumer(stream.name, "test")
        await js.publish(subject, Thing(n=2).model_dump_json().encode())

        async def second() -> bool:
            return 2 in seen

        await eventually(second, timeout_s=15)
    finally:
        await consumer.stop()
