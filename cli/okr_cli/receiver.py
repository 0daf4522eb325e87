"""A webhook receiver on loopback, for the chaos scenario, the benchmark and the tests: it checks
each delivery's signature as a receiver should (with the Standard Webhooks library), keeps what
arrived, and can be told to be down for a while or to answer 500 to a share of requests."""

from __future__ import annotations

import json
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    event_type: str
    data: dict[str, Any]
    answered: int  # the status this receiver answered with
    at: float  # time.perf_counter() on arrival
    headers: dict[str, str]
    body: bytes
    wall: float = 0.0  # time.time() on arrival: against the event's own timestamp


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free one, kept across down() and up()
    fail_share: float = 0.0  # of the requests answered 500 (after the signature is checked)
    seed: int = 7
    secrets: dict[str, str] = field(default_factory=dict)  # by path
    status: dict[str, int] = field(default_factory=dict)  # by path: answer this, whatever comes
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why unsigned or mis-signed ones were
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - which requests fail, not a secret

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def start(self) -> None:
        await self.up()

    async def up(self) -> None:
        """Listen (again, on the same port)."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def down(self) -> None:
        """Refuse connections, and close the ones open, until `up()`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def stop(self) -> None:
        await self.down()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        headers = dict(request.headers)
        try:
            Webhook(self.secrets[path]).verify(body, headers)
        except (KeyError, WebhookVerificationError, ValueError) as err:
            self.refused.append(f"{path}: {type(err).__name__}: {err}")
            return web.Response(status=401)
        status = self.status.get(path, 200)
        if status == 200 and self.fail_share and self._rng.random() < self.fail_share:
            status = 500
        message = json.loads(body)
        self.received.append(
            Received(
                path,
                request.headers["webhook-id"],
                message["type"],
                message["data"],
                status,
                time.perf_counter(),
                headers,
                body,
                time.time(),
            )
        )
        return web.Response(status=status)

    def delivered(self, path: str | None = None) -> list[Received]:
        """What arrived and was answered with a 2xx."""
        return [r for r in self.received if r.answered < 300 and path in (None, r.path)]

    def delivered_ids(self, path: str | None = None) -> set[str]:
        return {r.webhook_id for r in self.delivered(path)}

    def repeats(self, path: str | None = None) -> int:
        """Deliveries accepted more than once (allowed: at least once), beyond the first."""
        return sum(n - 1 for n in Counter(r.webhook_id for r in self.delivered(path)).values())
