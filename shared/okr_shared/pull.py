"""A JetStream pull that hands messages over as the server sends them.

nats-py's `fetch(batch, timeout)` waits for the rest of a batch once a stray status message (the
answer to an earlier request) has reached it, until the timeout: under load a message arriving
after an idle spell waited up to 5 s for its consumer (measured: 4.7 s, in the benchmark's
rollup latency run). Here one pull request with a heartbeat is kept open; every message goes to
a local queue as it arrives, and the consumer takes whatever is there, never waiting for more.
"""

from __future__ import annotations

import asyncio
import json
import time

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.errors import NotFoundError, ServiceUnavailableError

EXPIRES_S = 5.0
HEARTBEAT_S = 1.0
RETRY_PAUSE_S = 0.1  # before asking again after a request ended early (a 409)
STATUS = "Status"


class Puller:
    def __init__(self, client: Client, stream: str, durable: str, batch: int) -> None:
        self.client = client
        self.batch = batch
        self.api_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._subscription: Subscription | None = None
        self._inbox = ""
        self._open = False  # a request is outstanding
        self._delivered = 0  # messages received for it
        self._last_heard = 0.0
        self._pause = False

    async def start(self) -> None:
        self._inbox = self.client.new_inbox()
        self._subscription = await self.client.subscribe(self._inbox, cb=self._arrived)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _arrived(self, msg: Msg) -> None:
        self._last_heard = time.monotonic()  # while a batch is handled, too
        self._queue.put_nowait(msg)

    async def next_batch(self) -> list[Msg]:
        """The messages that have arrived, up to `batch`, once there is at least one."""
        while True:
            # A request the server forgot (it restarted, or its leader moved) sends no more
            # heartbeats: ask again.
            if not self._open or time.monotonic() - self._last_heard > 2.5 * HEARTBEAT_S:
                await self._request()
            try:
                first = await asyncio.wait_for(self._queue.get(), HEARTBEAT_S)
            except TimeoutError:
                continue
            arrived = [first]
            while not self._queue.empty() and len(arrived) < self.batch:
                arrived.append(self._queue.get_nowait())
            messages = self._sort(arrived)
            if messages:
                return messages

    def _sort(self, arrived: list[Msg]) -> list[Msg]:
        messages = []
        for msg in arrived:
            status = (msg.headers or {}).get(STATUS) if not msg.data else None
            if status is None:
                messages.append(msg)
            elif status == "100":  # an idle heartbeat: the request is alive
                continue
            else:
                self._ended(status, str(msg.headers))
        self._delivered += len(messages)
        if self._delivered >= self.batch:
            self._open = False
        return messages

    def _ended(self, status: str, headers: str) -> None:
        """The request is over. 408: it expired, ask again. 409: it was cut short (a leader
        change, too many waiting): ask again after a pause. A consumer that is gone, or a
        JetStream that does not answer (503), is the caller's to handle: it raises."""
        self._open = False
        if status == "408":
            return
        if status == "409" and "deleted" not in headers.lower():
            self._pause = True
            return
        if status == "503":
            raise ServiceUnavailableError
        raise NotFoundError

    async def _request(self) -> None:
        if self._pause:
            self._pause = False
            await asyncio.sleep(RETRY_PAUSE_S)
        request = {
            "batch": self.batch,
            "expires": int(EXPIRES_S * 1e9),
            "idle_heartbeat": int(HEARTBEAT_S * 1e9),
        }
        await self.client.publish(self.api_subject, json.dumps(request).encode(), reply=self._inbox)
        self._open, self._delivered, self._last_heard = True, 0, time.monotonic()
