"""One HTTP POST of a signed message, and what came of it.

Signed per Standard Webhooks with its reference library (`standardwebhooks`): the signature is
HMAC-SHA256 over `webhook-id.webhook-timestamp.body` with the endpoint's secret, sent as
`v1,<base64>`; during a secret rotation the old secret signs too, space-separated. Redirects
are not followed (a 3xx is a failure), the whole attempt has one timeout, and every connection
goes through the address guard (addresses.py).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook

from okr_webhooks import __version__
from okr_webhooks.addresses import RefusedAddress, guarded_socket

READ_AT_MOST = 64 * 1024  # of a receiver's answer: read (to reuse the connection), not kept


@dataclass(frozen=True, slots=True)
class Sent:
    """What one attempt found: a 2xx is delivered, anything else failed (with why)."""

    at: datetime
    response_code: int | None
    latency_ms: float
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def signature(secrets: Sequence[str], webhook_id: str, at: datetime, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    text = body.decode()
    return " ".join(_signer(s).sign(webhook_id, at, text) for s in secrets)


@functools.lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def headers(secrets: Sequence[str], webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(secrets, webhook_id, at, body),
    }


class Sender:
    def __init__(self, *, allow_private: bool, timeout_s: float, connections: int) -> None:
        self.allow_private = allow_private
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            socket_factory=guarded_socket(self.allow_private),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            headers={"user-agent": f"okr-webhooks/{__version__}"},
            trust_env=False,  # no proxy from the environment: the guard must see the target
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, url: str, secrets: Sequence[str], webhook_id: str, body: bytes) -> Sent:
        assert self._session is not None, "start() the sender first"
        at = datetime.now(UTC)
        started = time.perf_counter()
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers(secrets, webhook_id, at, body),
                allow_redirects=False,
            ) as response:
                await response.content.read(READ_AT_MOST)
                code = response.status
        except Exception as err:  # every failure is the attempt's outcome, never the loop's
            return Sent(at, None, _ms_since(started), _why(err))
        error = None if 200 <= code < 300 else f"HTTP {code}"
        return Sent(at, code, _ms_since(started), error)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _why(err: BaseException) -> str:
    if isinstance(err, aiohttp.ClientConnectorError) and isinstance(err.os_error, RefusedAddress):
        return str(err.os_error)
    if isinstance(err, TimeoutError):
        return "timed out"
    text = " ".join(str(err).split())[:500]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
