"""The Nats-Msg-Id of a value recorded over REST.

JetStream drops a message whose Nats-Msg-Id it has stored in the last ten minutes, whoever sent
either. Were the caller's Idempotency-Key the id, an integration that guessed it could publish
first and have the caller's value dropped as a repeat. The id is therefore an HMAC of the
caller's subject prefix, the KPI and the key, under the gateway's signing secret: the same for a
retry through any gateway replica, so the retry is answered "duplicate", and unknowable to any
NATS sender. The caller's key itself travels in the Okr-Idempotency-Key header; the KPIs
service keeps keys unique per KPI and sender.
"""

from __future__ import annotations

import hashlib
import hmac

PURPOSE = b"okr: the Nats-Msg-Id of a value recorded over REST"


def value_message_id(secret: str, prefix: str, kpi_id: int, key: str) -> str:
    derived = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
    named = f"{prefix}\x00{kpi_id}\x00{key}".encode()
    return "rest-" + hmac.new(derived, named, hashlib.sha256).hexdigest()
