"""The auth callout's keys and JWTs, without a server (tests/integration/test_integrations.py
shows nats-server 2.15 accepting them)."""

from __future__ import annotations

import base64
import json

import pytest

from okr_shared.nats_callout import (
    GLOBAL_ACCOUNT,
    AuthRequest,
    Issuer,
    account_public_key,
    new_account_seed,
    read_request,
)


def claims(token: str | bytes) -> dict[str, object]:
    text = token.decode() if isinstance(token, bytes) else token
    body = text.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def test_a_new_seed_is_an_account_key_and_each_is_new() -> None:
    seed = new_account_seed()
    assert seed.startswith("SA") and account_public_key(seed).startswith("A")
    assert new_account_seed() != seed


@pytest.mark.parametrize("bad", ["", "SAnotaseed", "hello"])
def test_anything_but_an_account_seed_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="seed"):
        account_public_key(bad)


def test_an_answer_lets_the_connection_in_with_its_permissions() -> None:
    issuer = Issuer(new_account_seed())
    request = AuthRequest("NSERVER", "UUSER", "integration-3", "pw", 9, "127.0.0.1")
    answer = claims(issuer.allow(request, name="integration-3", publish=["a.>"], subscribe=["b"]))
    assert (answer["iss"], answer["sub"], answer["aud"]) == (issuer.public_key, "UUSER", "NSERVER")
    nats = answer["nats"]
    assert isinstance(nats, dict) and nats["type"] == "authorization_response"
    user = claims(nats["jwt"])
    assert (user["iss"], user["sub"], user["aud"], user["name"]) == (
        issuer.public_key,
        "UUSER",
        GLOBAL_ACCOUNT,
        "integration-3",
    )
    permissions = user["nats"]
    assert isinstance(permissions, dict)
    assert (permissions["pub"], permissions["sub"]) == ({"allow": ["a.>"]}, {"allow": ["b"]})
    denied = claims(issuer.deny(request, "revoked"))["nats"]
    assert isinstance(denied, dict) and denied["error"] == "revoked" and "jwt" not in denied


def test_a_request_is_read_and_garbage_is_refused() -> None:
    body = {
        "nats": {
            "server_id": {"id": "NSERVER"},
            "user_nkey": "UUSER",
            "connect_opts": {"user": "integration-3", "pass": "pw"},
            "client_info": {"id": 9, "host": "127.0.0.1"},
        }
    }
    encoded = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    request = read_request(f"e30.{encoded}.sig".encode())
    assert request == AuthRequest("NSERVER", "UUSER", "integration-3", "pw", 9, "127.0.0.1")
    with pytest.raises(ValueError, match="authorization request"):
        read_request(b"not a jwt")
