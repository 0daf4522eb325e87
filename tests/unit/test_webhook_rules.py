"""The webhooks service's rules without I/O: the signature (the Standard Webhooks spec's own
example), which addresses are refused, the retry schedule, and the ids that make retries
recognisable."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.msg import Msg
from standardwebhooks import Webhook

from okr_shared.contracts.webhooks import webhook_id
from okr_webhooks.addresses import refusal
from okr_webhooks.messages import from_dead_letter
from okr_webhooks.retries import RetryPolicy
from okr_webhooks.sender import headers

# The example of the Standard Webhooks specification (spec/standard-webhooks.md, "Signature
# scheme"): this secret, id, timestamp and body sign to this signature.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_deliveries_are_signed_as_the_spec_says() -> None:
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    sent = headers([SPEC_SECRET], SPEC_ID, at, SPEC_BODY)
    assert sent["webhook-id"] == SPEC_ID
    assert sent["webhook-timestamp"] == str(SPEC_TIMESTAMP)
    assert sent["webhook-signature"] == SPEC_SIGNATURE


def test_during_a_rotation_either_secret_verifies() -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    sent = headers([other, SPEC_SECRET], SPEC_ID, datetime.now(UTC), SPEC_BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    for secret in (other, SPEC_SECRET):
        assert Webhook(secret).verify(SPEC_BODY, sent) == {"test": 2432232314}


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1%eth0", "link-local"),
        ("fec0::1", "site-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("100.64.0.1", "public"),  # carrier-grade NAT: not public either
        ("fc00::1", "private"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    reason = refusal(address)
    assert reason is not None and address in reason and kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "8.8.8.8"])
def test_public_addresses_may_be_reached(address: str) -> None:
    assert refusal(address) is None


def test_retries_back_off_with_jitter_and_stop_a_day_after_the_first_failure() -> None:
    policy = RetryPolicy(base_s=5, max_s=3600, give_up_after_s=86_400)
    rng = random.Random(1)
    for failures in range(1, 30):
        ceiling = min(3600, 5 * 2 ** (failures - 1))
        delays = [policy.delay_s(failures, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: not all together
    first = datetime(2026, 1, 1, tzinfo=UTC)
    at, retries = first, 0
    while (next_at := policy.next_attempt(retries + 1, at, first)) is not None:
        assert next_at > at
        at, retries = next_at, retries + 1
    assert at == first + timedelta(days=1)  # the last retry falls on the day's end
    assert 25 <= retries <= 45


def test_the_webhook_id_is_the_events_own() -> None:
    assert webhook_id("5c8e2a9d-1b7f-4c3e-a2d6-8f0e4b1c7a95") == (
        "msg_5c8e2a9d-1b7f-4c3e-a2d6-8f0e4b1c7a95"
    )
    assert webhook_id("dlq:KPI_VALUES:12:3") == "msg_dlq_KPI_VALUES_12_3"


def _letter(subject: str, data: bytes, **headers: str) -> Msg:
    reply = "$JS.ACK.KPI_VALUES_DLQ.webhooks-kpi-rejections.1.42.7.1764600000000000000.0"
    return Msg(_client=None, subject=f"dlq.{subject}", reply=reply, data=data, headers=headers)  # type: ignore[arg-type]


def test_a_dead_letter_becomes_kpi_value_rejected_whatever_it_holds() -> None:
    single = from_dead_letter(
        _letter(
            "kpi.values.12",
            b'{"value": 3.5}',
            **{
                "Nats-Msg-Id": "dlq:KPI_VALUES:9",
                "Okr-Dlq-Reason": "KPI 12 is archived",
                "Okr-Original-Subject": "kpi.values.12",
                "Okr-Original-Msg-Id": "hr-key-1",
            },
        )
    )
    assert single.event_type == "kpi.value_rejected"
    assert single.webhook_id == "msg_dlq_KPI_VALUES_9"
    body = json.loads(single.body)
    assert body["type"] == "kpi.value_rejected"
    assert body["data"] == {
        "kpi_id": 12,
        "reason": "KPI 12 is archived",
        "idempotency_key": "hr-key-1",
        "subject": "kpi.values.12",
        "source": "hr",
        "value": 3.5,
        "rejected_at": "2025-12-01T14:40:00Z",
    }
    item = from_dead_letter(
        _letter(
            "kpi.values.batch",
            b'{"kpi_id": 7, "value": 1e400, "idempotency_key": "item-key"}',
            **{"Nats-Msg-Id": "dlq:KPI_VALUES:10:3", "Okr-Original-Subject": "kpi.values.batch"},
        )
    )
    data = json.loads(item.body)["data"]
    assert (data["kpi_id"], data["value"], data["idempotency_key"]) == (7, None, "item-key")
    assert item.webhook_id == "msg_dlq_KPI_VALUES_10_3"
    sent = from_dead_letter(_letter("kpi.values.i.7.12", b'{"value": 1}'))
    data = json.loads(sent.body)["data"]
    assert (data["kpi_id"], data["source"]) == (12, "integration:7")
    unreadable = from_dead_letter(_letter("kpi.values.x", b"\xff{[", **{"Okr-Dlq-Reason": "bad"}))
    data = json.loads(unreadable.body)["data"]
    assert (data["kpi_id"], data["value"], data["reason"]) == (None, None, "bad")
    assert data["source"] == "hr"  # kpi.values.<token> is the shared user's subject
    assert unreadable.webhook_id == "msg_dlq_KPI_VALUES_DLQ_42"  # no id: the stream's own
