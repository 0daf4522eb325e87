"""The delivery machinery under the API, on the real database and sockets: where a webhook may
connect, checked at registration and again when each connection is made; and leases, which keep
two processes from ever holding one delivery at once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from uuid import uuid4

import pytest

from okr_cli.receiver import Receiver
from okr_shared.contracts.common import utcnow
from okr_shared.errors import Invalid
from okr_webhooks import delivery_repository
from okr_webhooks.addresses import check_url
from okr_webhooks.sender import Sender
from tests.support.system import RunningSystem


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
        ("http://localhost:8080/hook", "is a loopback address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
        ("https://10.0.0.7/hook", "10.0.0.7 is a private address"),
    ],
)
async def test_a_private_target_is_refused_at_registration(url: str, says: str) -> None:
    with pytest.raises(Invalid, match=says) as refused:
        await check_url(url, allow_private=False)
    assert "OKR_WEBHOOKS_ALLOW_PRIVATE=1" in refused.value.message
    await check_url(url, allow_private=True)  # a lab network, the tests


async def test_each_connection_is_checked_as_it_is_made() -> None:
    """A name is resolved again for every connection, and the address it resolves to is what
    is checked: `localhost` is refused here whatever it resolved to when it was registered."""
    receiver = Receiver()
    await receiver.start()
    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    receiver.secrets["/hook"] = secret
    guarded = Sender(allow_private=False, timeout_s=2, connections=4)
    open_ = Sender(allow_private=True, timeout_s=2, connections=4)
    await guarded.start()
    await open_.start()
    try:
        for host in ("localhost", "127.0.0.1"):
            url = f"http://{host}:{receiver.port}/hook"
            sent = await guarded.send(url, [secret], "msg_guarded", b'{"type":"t","data":{}}')
            assert not sent.delivered and sent.response_code is None
            assert sent.error is not None and "refused to connect" in sent.error
            assert "loopback" in sent.error
        assert receiver.received == []
        allowed = await open_.send(
            receiver.url("/hook"), [secret], "msg_ok", b'{"type":"t","data":{}}'
        )
        assert allowed.delivered and allowed.response_code == 200
        assert [r.webhook_id for r in receiver.delivered()] == ["msg_ok"]
    finally:
        await guarded.stop()
        await open_.stop()
        await receiver.stop()


async def test_two_processes_never_claim_one_delivery(system: RunningSystem) -> None:
    sessions = system.runtimes["webhooks"].sessions
    response = await system.client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/leases", "events": ["objective.created"]},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text
    endpoint = response.json()["id"]
    # Due in an hour: the running service leaves them alone; the claims below look from then.
    later = utcnow() + timedelta(hours=1)
    rows = [
        {
            "endpoint_id": endpoint,
            "webhook_id": f"msg_lease_{secrets.token_hex(6)}",
            "event_type": "objective.created",
            "payload": b"{}",
        }
        for _ in range(300)
    ]
    try:
        async with sessions.begin() as session:
            inserted = await delivery_repository.insert_deliveries(session, rows, None, later)
        assert len(inserted) == 300

        async def claim() -> list[int]:
            claimed: list[int] = []
            for _ in range(10):
                async with sessions.begin() as session:
                    jobs = await delivery_repository.claim_due(
                        session, 20, uuid4(), later + timedelta(minutes=5), later
                    )
                claimed += [j.delivery_id for j in jobs]
            return claimed

        first, second = await asyncio.gather(claim(), claim())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(i for i, _, _ in inserted)
    finally:
        await system.client.delete(f"/api/v1/webhooks/{endpoint}", headers=system.admin_headers)
