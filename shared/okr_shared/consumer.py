"""Durable JetStream pull consumers that hand a service whole batches, with dead letters.

FastStream's batch subscriber waits until a batch is full or its timeout passes; rollup must
react within milliseconds, so this loop takes whatever is there (nats-py returns a partial batch
as soon as the server has sent what it holds) and hands it over at once.

A message whose payload does not validate goes straight to the stream's dead-letter stream with
the reason. A batch that fails is retried message by message, so one poison message cannot hold
back its neighbours; a message that keeps failing goes to the dead-letter stream after
`max_attempts`. A failure of the database or of NATS itself is not the message's fault: the
batch is redelivered after a pause and no dead letter is written. Attempts are counted here,
not by the server's delivery count, which also counts redeliveries after outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError
from pydantic import TypeAdapter, ValidationError

from okr_shared import metrics, tracing
from okr_shared.contracts.common import ConsumerLag
from okr_shared.event_channels import Channel, document_consumed
from okr_shared.failpoints import failpoint
from okr_shared.faults import is_conflict, is_transient
from okr_shared.pull import Puller
from okr_shared.subjects import VALUE_KEY_HEADER, Stream, dead_letter_subject

log = logging.getLogger(__name__)

T = TypeVar("T")


CONFLICT_PAUSE_S = 0.02


@dataclass(frozen=True)
class Delivery(Generic[T]):
    msg: Msg
    event: T

    @property
    def stream_seq(self) -> int:
        return int(self.msg.metadata.sequence.stream)


BatchHandler = Callable[[list[Delivery[T]]], Awaitable[None]]


class BatchConsumer(Generic[T]):
    def __init__(
        self,
        client: Client,
        *,
        stream: Stream,
        durable: str,
        filter_subject: str,
        payload: type[T] | TypeAdapter[T] | Callable[[Msg], T],
        handle: BatchHandler[T],
        batch_size: int = 256,
        max_attempts: int = 5,
        ack_wait_s: float = 10.0,
        retry_pause_s: float = 1.0,
        channels: Sequence[Channel] = (),
    ) -> None:
        self.client = client
        self.js = client.jetstream()
        self.stream = stream
        self.durable = durable
        self.filter_subject = filter_subject
        # A model or adapter validates the body; a function sees the whole message (subject and
        # headers too). Either raises ValidationError or ValueError for a message to refuse.
        if isinstance(payload, TypeAdapter):
            self.decode: Callable[[Msg], T] = lambda msg: payload.validate_json(msg.data)
        elif isinstance(payload, type):
            adapter: TypeAdapter[T] = TypeAdapter(payload)
            self.decode = lambda msg: adapter.validate_json(msg.data)
        else:
            self.decode = payload
        self.channels = document_consumed(filter_subject, payload, channels)
        self.handle = handle
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.ack_wait_s = ack_wait_s
        self.retry_pause_s = retry_pause_s
        self._task: asyncio.Task[None] | None = None
        self._puller: Puller | None = None
        # Failures that were the message's fault, by stream sequence. The server's delivery
        # count also counts redeliveries after outages, which must not dead-letter anything.
        self._failures: dict[int, int] = {}

    async def start(self) -> None:
        self._puller = await self._bind()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.durable}")

    async def _bind(self) -> Puller:
        config = ConsumerConfig(
            durable_name=self.durable,
            filter_subject=self.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_deliver=-1,  # the dead-letter decision is ours: see the module docstring
            max_ack_pending=self.batch_size * 8,
        )
        await self.js.add_consumer(self.stream.name, config)
        puller = Puller(self.client, self.stream.name, self.durable, self.batch_size)
        await puller.start()
        return puller

    async def lag(self) -> ConsumerLag:
        info = await self.js.consumer_info(self.stream.name, self.durable)
        return ConsumerLag(
            stream=self.stream.name,
            durable=self.durable,
            pending=info.num_pending or 0,
            unacknowledged=info.num_ack_pending or 0,
        )

    async def stop(self) -> None:
        """Finish nothing half-way: unacknowledged messages are simply redelivered later."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._puller:
            with contextlib.suppress(Exception):
                await self._puller.stop()

    async def _run(self) -> None:
        while True:
            try:
                if self._puller is None:  # declaring it failed last time
                    await self._rebind()
                    continue
                msgs = await self._puller.next_batch()
            except (NotFoundError, ServiceUnavailableError):
                # Someone deleted the consumer, or JetStream does not answer for it: declare it
                # again (which waits out an outage).
                log.warning("%s: consumer gone or unreachable; declaring it again", self.durable)
                await self._rebind()
                continue
            except nats.errors.Error as err:  # disconnected: nats-py reconnects by itself
                log.warning("%s: fetch failed (%s); retrying", self.durable, err)
                await asyncio.sleep(0.5)
                continue
            try:
                await self.process(msgs)
            except Exception:
                # Acking, naking or dead-lettering failed (NATS away): unacknowledged messages
                # come back after ack_wait. The loop must outlive it.
                log.exception("%s: could not finish a batch; it will be redelivered", self.durable)
                await asyncio.sleep(self.retry_pause_s)

    async def _rebind(self) -> None:
        with contextlib.suppress(Exception):
            if self._puller:
                await self._puller.stop()
        self._puller = None
        try:
            self._puller = await self._bind()
        except Exception as err:
            log.warning("%s: cannot declare the consumer yet (%s)", self.durable, err)
            await asyncio.sleep(self.retry_pause_s)

    async def process(self, msgs: list[Msg]) -> None:
        self._count(msgs)
        started = time.perf_counter()
        with tracing.batch_span(
            f"consume {self.durable}",
            [m.headers for m in msgs],
            {"messaging.batch.message_count": len(msgs), "messaging.consumer": self.durable},
        ):
            await self._process(msgs)
            log.debug(
                "%s: %d messages in %.1f ms",
                self.durable,
                len(msgs),
                (time.perf_counter() - started) * 1000,
            )

    def _count(self, msgs: list[Msg]) -> None:
        metrics.BATCH_SIZE.labels(self.durable).observe(len(msgs))
        subjects = [m.subject for m in msgs]
        metrics.count_subjects(metrics.CONSUMED, subjects)
        again = [m.subject for m in msgs if m.metadata.num_delivered > 1]
        if again:
            metrics.count_subjects(metrics.REDELIVERED, again)

    async def _process(self, msgs: list[Msg]) -> None:
        deliveries: list[Delivery[T]] = []
        for msg in msgs:
            try:
                deliveries.append(Delivery(msg, self.decode(msg)))
            except (ValidationError, ValueError) as err:
                await self.dead_letter(msg, f"invalid payload: {_one_line(err)}")
        if not deliveries:
            return
        try:
            await self.handle(deliveries)
        except Exception as err:
            if is_transient(err):
                await self._redeliver_later(deliveries, err)
                return
            if len(deliveries) == 1:
                await self._failed(deliveries[0], err)
                return
            await self._one_by_one(deliveries)
            return
        failpoint(f"consumer.{self.durable}.before_ack")
        await self._ack_all(deliveries)

    async def _one_by_one(self, deliveries: list[Delivery[T]]) -> None:
        for index, delivery in enumerate(deliveries):
            try:
                await self.handle([delivery])
            except Exception as err:
                if is_transient(err):
                    await self._redeliver_later(deliveries[index:], err)
                    return
                await self._failed(delivery, err)
            else:
                await self._ack_all([delivery])

    async def _ack_all(self, deliveries: list[Delivery[T]]) -> None:
        for d in deliveries:
            await d.msg.ack()
            self._failures.pop(d.stream_seq, None)

    async def _redeliver_later(self, deliveries: list[Delivery[T]], err: Exception) -> None:
        # Two workers deadlocked on shared rows: one lost, and retrying at once will succeed.
        pause = CONFLICT_PAUSE_S if is_conflict(err) else self.retry_pause_s
        log.warning("%s: %s; batch of %d will be redelivered", self.durable, err, len(deliveries))
        for d in deliveries:
            await d.msg.nak(delay=pause)
        await asyncio.sleep(pause)

    async def _failed(self, delivery: Delivery[T], err: Exception) -> None:
        attempts = self._failures.get(delivery.stream_seq, 0) + 1
        self._failures[delivery.stream_seq] = attempts
        if len(self._failures) > 100_000:  # bounded: forget the oldest counts
            self._failures.pop(next(iter(self._failures)))
        if attempts >= self.max_attempts:
            log.error(
                "%s: giving up on seq %d after %d attempts: %s",
                self.durable,
                delivery.stream_seq,
                attempts,
                err,
            )
            await self.dead_letter(delivery.msg, f"failed {attempts} times: {_one_line(err)}")
            return
        log.warning(
            "%s: seq %d failed (attempt %d): %s", self.durable, delivery.stream_seq, attempts, err
        )
        await delivery.msg.nak(delay=min(self.retry_pause_s * 2**attempts / 5, 10.0))

    async def dead_letter(self, msg: Msg, reason: str) -> None:
        """Park the original payload with its reason; acknowledge only once it is stored."""
        await publish_dead_letter(self.js, msg, reason, consumer=self.durable)
        await msg.ack()
        self._failures.pop(int(msg.metadata.sequence.stream), None)


async def publish_dead_letter(
    js: JetStreamContext,
    msg: Msg,
    reason: str,
    *,
    consumer: str,
    payload: bytes | None = None,
    part: int | None = None,
) -> None:
    """Store `msg` (or one `part` of it, with its own `payload`) in the dead-letter stream of
    its stream, with the reason. Publishing again is harmless: the id makes JetStream drop it."""
    meta = msg.metadata
    suffix = "" if part is None else f":{part}"
    headers = {
        "Nats-Msg-Id": f"dlq:{meta.stream}:{meta.sequence.stream}{suffix}",
        "Okr-Dlq-Reason": reason[:1000],
        "Okr-Original-Subject": msg.subject,
        "Okr-Original-Stream": str(meta.stream),
        "Okr-Original-Seq": str(meta.sequence.stream),
        "Okr-Consumer": consumer,
    }
    original = msg.headers or {}
    original_id = original.get(VALUE_KEY_HEADER) or original.get("Nats-Msg-Id")
    if original_id:
        headers["Okr-Original-Msg-Id"] = original_id + suffix
    if part is not None:
        headers["Okr-Original-Part"] = str(part)
    data = msg.data if payload is None else payload
    await js.publish(dead_letter_subject(msg.subject), data, headers=headers)
    metrics.DEAD_LETTERED.labels(metrics.subject_family(msg.subject)).inc()


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:900] or type(err).__name__
