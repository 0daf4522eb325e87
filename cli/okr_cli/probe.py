"""Asking a running system how it is: the services' ping over NATS, the gateway's /ready, and
whether its consumers and outboxes have anything left to do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import httpx
import nats
from nats.js import JetStreamContext
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from okr_shared import subjects
from okr_shared.contracts.common import ServiceInfo, ServiceStatus
from okr_shared.contracts.endpoint import REFUSED

M = TypeVar("M", bound=BaseModel)


async def ping_all(nats_url: str, wait_s: float = 0.5) -> list[ServiceInfo]:
    """Every ready instance of every service answers `rpc.ping`; what arrives in `wait_s`."""
    answers = await ask_all(nats_url, subjects.RPC_PING_ALL, ServiceInfo, wait_s)
    return sorted(answers, key=lambda info: info.instance)


async def status_all(nats_url: str, wait_s: float = 0.5) -> dict[str, ServiceStatus]:
    """Each instance's consumers' lag and outbox backlog, by instance."""
    answers = await ask_all(nats_url, subjects.RPC_STATUS_ALL, ServiceStatus, wait_s)
    return {status.instance: status for status in answers}


async def ask_all(nats_url: str, subject: str, model: type[M], wait_s: float) -> list[M]:
    """Publish one request that every instance answers, and collect the answers for `wait_s`."""
    client = await nats.connect(
        [url.strip() for url in nats_url.split(",")],
        connect_timeout=2,
        inbox_prefix=subjects.SERVICE_INBOX_PREFIX,
        allow_reconnect=False,
        max_reconnect_attempts=1,  # 0 would mean "for ever" to nats-py
        # Between its two tries nats-py waits this long (2 s by default): a server that is not
        # there should be reported at once.
        reconnect_time_wait=0.1,
        error_cb=quiet,
    )
    answers: list[M] = []
    try:
        inbox = client.new_inbox()
        subscription = await client.subscribe(inbox)
        await client.publish(subject, b"{}", reply=inbox)
        deadline = asyncio.get_running_loop().time() + wait_s
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await subscription.next_msg(timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            if REFUSED not in (msg.headers or {}):  # a refusal is an instance not ready
                answers.append(model.model_validate_json(msg.data))
    finally:
        await client.close()
    return answers


# Every durable consumer of the system: (stream, durable).
CONSUMERS = (
    ("KPI_VALUES", "kpis-ingest"),
    ("KPI_EVENTS", "progress-kpi-events"),
    ("OBJECTIVES", "progress-objective-events"),
    ("PROGRESS", "objectives-progress"),
    ("OBJECTIVES", "webhooks-objective-events"),
    ("PROGRESS", "webhooks-progress"),
    ("KPI_VALUES_DLQ", "webhooks-kpi-rejections"),
)


# Every service's transactional outbox.
OUTBOXES = ("objectives.outbox", "kpis.outbox", "progress.outbox")


async def outboxes_sent(db: AsyncConnection) -> bool:
    """Nothing committed to any outbox and not yet published."""
    for table in OUTBOXES:
        unsent = await db.scalar(
            text(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")  # noqa: S608
        )
        if unsent:
            return False
    return True


async def consumers_caught_up(js: JetStreamContext) -> bool:
    """Nothing waiting for, or held by, any consumer."""
    for stream, durable in CONSUMERS:
        info = await js.consumer_info(stream, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def quiet(_: Exception) -> None:
    """The caller reports a failed connection in one line; nats-py would print tracebacks."""


async def gateway_ready(gateway_url: str) -> tuple[bool, dict[str, object]]:
    status_code, body = await ask_ready(gateway_url)
    return status_code == 200, body


async def ask_ready(gateway_url: str) -> tuple[int | None, dict[str, object]]:
    """The gateway's `/ready`: its status code (None: no answer within a few seconds) and body
    (`{"error": ...}` when there is none to read)."""
    try:
        async with asyncio.timeout(3), httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(f"{gateway_url}/ready")
    except (httpx.HTTPError, TimeoutError) as err:
        return None, {"error": str(err) or type(err).__name__}
    try:
        body = response.json()
    except ValueError:
        body = {"error": f"{gateway_url}/ready answered {response.status_code} without JSON"}
    return response.status_code, body if isinstance(body, dict) else {"body": body}


async def wait_until_ready(
    gateway_url: str,
    nats_url: str,
    services: set[str],
    timeout_s: float,
    still_starting: Callable[[], None] = lambda: None,
) -> list[ServiceInfo]:
    """Until the gateway is ready and every service has answered a ping.

    `still_starting` raises to give up early, e.g. when a service process has exited.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        still_starting()
        ready, _ = await gateway_ready(gateway_url)
        if ready:
            answered = await ping_all(nats_url, wait_s=0.2)
            if services <= {info.service for info in answered}:
                return answered
        await asyncio.sleep(0.1)
    raise TimeoutError(f"not ready within {timeout_s:.0f} s")
