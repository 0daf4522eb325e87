"""Who may connect to NATS as an integration, and closing a revoked one's connections.

The NATS servers send every connect by a user that is not one of okr's own (`okr`, `hr`, `sys`)
to their auth callout (`$SYS.REQ.USER.AUTH`). Every gateway replica answers in one queue group,
from the identity store: `integration-<id>` with its password, not revoked, its user active, is
let into the services' account with permission to publish only under its own subject prefix and
to read only its own inbox; anything else is refused. Revoking an integration asks every server,
through NATS's system account, for that user's connections (CONNZ) and closes them (KICK).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_gateway import integration_repository as repository
from okr_shared import subjects
from okr_shared.nats_auth import split_credentials
from okr_shared.nats_callout import AUTH_SUBJECT, AuthRequest, Issuer, read_request

log = logging.getLogger(__name__)

USER_PREFIX = "integration-"
CALLOUT_QUEUE = "okr-gateway-callout"
# A cluster's servers answer a CONNZ ping within milliseconds of each other; stop listening once
# none has answered for this long.
QUIET_S = 0.25
SWEEP_AGAIN_S = 1.0  # a second sweep, for a connect whose answer crossed the revocation
CONNZ_PAGE = 1024
# Connects answered at once by one gateway; beyond it they are refused without a database
# query, so a flood of connects (no credential needed to try) cannot take the pool.
MAX_ANSWERING = 16
# Exactly as nats_username writes it: `integration-05` must not pass for `integration-5`, whose
# connections a revocation looks for by that name.
USERNAME = re.compile(r"integration-([1-9][0-9]{0,17})", re.ASCII)


def nats_username(integration_id: int) -> str:
    return f"{USER_PREFIX}{integration_id}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Callout:
    """Answers the NATS servers' authorization requests for integrations."""

    issuer: Issuer
    sessions: async_sessionmaker[AsyncSession]
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, client: Client) -> None:
        async def received(msg: Msg) -> None:
            if len(self._tasks) >= MAX_ANSWERING:
                await self.refuse(msg, "too many connects at once; try again")
                return
            # One task each: a slow database must not hold back every other connect.
            task = asyncio.create_task(self.answer(client, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        await client.subscribe(AUTH_SUBJECT, queue=CALLOUT_QUEUE, cb=received)

    async def answer(self, client: Client, msg: Msg) -> None:
        try:
            request = read_request(msg.data)
        except ValueError as err:
            log.warning("auth callout: %s", err)
            return
        try:
            async with self.sessions.begin() as session:
                # The answer leaves while the integration's row is locked (see for_connect).
                await msg.respond(await self.decide(session, request))
                await client.flush()
        except Exception:
            # No answer: the server refuses the connect after its auth timeout.
            log.exception("auth callout for %s failed", request.username)

    async def refuse(self, msg: Msg, reason: str) -> None:
        with contextlib.suppress(ValueError, nats.errors.Error):
            await msg.respond(self.issuer.deny(read_request(msg.data), reason))

    async def decide(self, session: AsyncSession, request: AuthRequest) -> bytes:
        integration_id = _integration_id(request.username)
        if integration_id is None:
            return self.issuer.deny(request, f"unknown user {request.username[:60]!r}")
        # The password first, without a lock: wrong guesses never queue on the row.
        found = await repository.for_connect(session, integration_id, lock=False)
        given = secret_hash(request.password)
        if found is None or not hmac.compare_digest(given, found[0].nats_secret_hash):
            return self.issuer.deny(request, f"wrong user or password: {request.username}")
        found = await repository.for_connect(session, integration_id, lock=True)
        if found is None:
            return self.issuer.deny(request, f"unknown user {request.username}")
        integration, user_active = found
        if integration.revoked_at is not None or not user_active:
            return self.issuer.deny(request, f"{request.username} is revoked")
        if "values:write" not in integration.scopes:
            return self.issuer.deny(request, f"{request.username} may not send values")
        await repository.connected(session, integration.id)
        log.info("integration %d connected from %s", integration.id, request.host)
        return self.issuer.allow(
            request,
            name=request.username,
            publish=subjects.integration_publish(integration.id),
            subscribe=subjects.integration_subscribe(integration.id),
        )


def _integration_id(username: str) -> int | None:
    matched = USERNAME.fullmatch(username)
    return int(matched.group(1)) if matched else None


class SystemAccount:
    """A connection as NATS's system user: finds and closes a user's connections on every
    server of the cluster."""

    def __init__(self, url: str) -> None:
        self.servers, self.auth = split_credentials(url)
        self.client: Client | None = None
        self._sweeps: set[asyncio.Task[int]] = set()

    async def connect(self) -> None:
        self.client = await nats.connect(
            self.servers,
            **self.auth,
            name="okr-gateway-system",
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=2,
        )

    async def close(self) -> None:
        for task in list(self._sweeps):
            task.cancel()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    async def disconnect_user(self, username: str) -> int:
        """Close every connection of `username` on every server that answers; how many. Once
        more a moment later, in the background, for a connect that was being let in."""
        closed = await self._sweep(username)
        again = asyncio.create_task(self._later(username))
        self._sweeps.add(again)
        again.add_done_callback(self._sweeps.discard)
        return closed

    async def _later(self, username: str) -> int:
        await asyncio.sleep(SWEEP_AGAIN_S)
        try:
            return await self._sweep(username)
        except Exception as err:
            log.warning("second sweep of %s failed: %s", username, err)
            return 0

    async def _sweep(self, username: str) -> int:
        client = self._connected()
        closed = 0
        query = json.dumps({"user": username, "limit": CONNZ_PAGE}).encode()
        # Each server's connections are closed as soon as it answers, not after the last.
        async for answer in _answers(client, "$SYS.REQ.SERVER.PING.CONNZ", query):
            server = answer.get("data", {}).get("server_id", "")
            page = answer.get("data", {}).get("connections") or []
            while page:
                for connection in page:
                    kick = json.dumps({"cid": connection["cid"]}).encode()
                    reply = await client.request(f"$SYS.REQ.SERVER.{server}.KICK", kick, timeout=2)
                    if "error" not in json.loads(reply.data):
                        closed += 1
                if len(page) < CONNZ_PAGE:
                    break
                # Those kicked are gone from the list: the next page starts at the beginning.
                more = await client.request(f"$SYS.REQ.SERVER.{server}.CONNZ", query, timeout=2)
                page = json.loads(more.data).get("data", {}).get("connections") or []
        if closed:
            log.info("closed %d NATS connections of %s", closed, username)
        return closed

    def _connected(self) -> Client:
        if self.client is None or not self.client.is_connected:
            raise ConnectionError("not connected to NATS's system account")
        return self.client


async def _answers(client: Client, subject: str, payload: bytes) -> AsyncIterator[dict[str, Any]]:
    """Every server's answer to a `$SYS.REQ.SERVER.PING.*` request, as each arrives."""
    inbox = client.new_inbox()
    subscription = await client.subscribe(inbox)
    try:
        await client.publish(subject, payload, reply=inbox)
        deadline = time.monotonic() + 5.0
        wait = 2.0  # for the first answer
        while time.monotonic() < deadline:
            try:
                msg = await subscription.next_msg(timeout=wait)
            except nats.errors.TimeoutError:
                return
            yield json.loads(msg.data)
            wait = QUIET_S
    finally:
        await subscription.unsubscribe()
