"""NATS auth callout: the account key a NATS server trusts, and the JWTs of the protocol.

With `authorization { auth_callout { issuer, auth_users } }` (config mode), nats-server sends
every connect by a user not in `auth_users` to `$SYS.REQ.USER.AUTH`, as a JWT it signs itself.
The answer is a JWT signed by the issuer's key (an account nkey) that carries either a user JWT,
signed by the same key, with the connection's name, account and permissions, or an error.

A JWT here is three base64url parts without padding: the header
`{"typ":"JWT","alg":"ed25519-nkey"}`, the claims, and the Ed25519 signature of the first two
joined by a dot; `jti` is the base32 SHA-512/256 of the claims written without it. An nkey is
base32 of a prefix byte, the 32-byte key and a CRC-16 (the `nkeys` package decodes seeds and
signs; it cannot make a seed, which `new_account_seed` does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nkeys

# Callout users join the account the services use, so their values land in the same JetStream.
GLOBAL_ACCOUNT = "$G"
AUTH_SUBJECT = "$SYS.REQ.USER.AUTH"

_SEED_PREFIX = 18 << 3  # nkeys' PREFIX_BYTE_SEED: a seed reads "S..."
_ACCOUNT_PREFIX = 0  # PREFIX_BYTE_ACCOUNT: an account's public key reads "A..."
_HEADER = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"ed25519-nkey"}').rstrip(b"=").decode()


def new_account_seed() -> str:
    """A new account nkey seed ("SA..."): the secret that signs callout answers."""
    raw = bytearray([_SEED_PREFIX | (_ACCOUNT_PREFIX >> 5), (_ACCOUNT_PREFIX & 31) << 3])
    raw += secrets.token_bytes(32)
    raw += nkeys.crc16(raw).to_bytes(2, "little")
    return base64.b32encode(bytes(raw)).rstrip(b"=").decode()


def account_public_key(seed: str) -> str:
    """The public key ("A...") that the NATS server configuration names as the issuer."""
    return str(_keys(seed).public_key.decode())


def _keys(seed: str) -> Any:
    try:
        keys = nkeys.from_seed(seed.strip().encode())
    except (nkeys.NkeysError, ValueError) as err:
        raise ValueError(f"not an nkey seed: {err}") from None
    if not keys.public_key.startswith(b"A"):
        raise ValueError("not an account nkey seed (it must start with SA)")
    return keys


@dataclass(frozen=True)
class AuthRequest:
    """What the server says about a connection that asks to be let in."""

    server_id: str  # the server's public key: the answer's audience
    user_nkey: str  # the key the server made for this connection: the answer's subject
    username: str
    password: str
    client_id: int  # its cid on that server
    host: str


def read_request(token: bytes) -> AuthRequest:
    """The claims of an authorization request. Its signature is the server's; only the services'
    NATS user may publish where the server sends these, and it is trusted with everything."""
    try:
        claims = json.loads(_unb64(token.decode().split(".")[1]))
        request = claims["nats"]
        options = request.get("connect_opts") or {}
        client = request.get("client_info") or {}
        return AuthRequest(
            server_id=str(request["server_id"]["id"]),
            user_nkey=str(request["user_nkey"]),
            username=str(options.get("user") or ""),
            password=str(options.get("pass") or ""),
            client_id=int(client.get("id") or 0),
            host=str(client.get("host") or ""),
        )
    except (IndexError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"not an authorization request: {err}") from None


class Issuer:
    """Signs callout answers with an account key."""

    def __init__(self, seed: str) -> None:
        self._keys = _keys(seed)
        self.public_key = str(self._keys.public_key.decode())

    def allow(
        self,
        request: AuthRequest,
        *,
        name: str,
        publish: Sequence[str],
        subscribe: Sequence[str],
    ) -> bytes:
        """Let the connection in as `name`, in the services' account, with these permissions."""
        user = self.sign(
            {
                "sub": request.user_nkey,
                "aud": GLOBAL_ACCOUNT,
                "name": name,
                "nats": {
                    "pub": {"allow": list(publish)},
                    "sub": {"allow": list(subscribe)},
                    "subs": -1,
                    "data": -1,
                    "payload": -1,
                    "type": "user",
                    "version": 2,
                },
            }
        )
        return self._answer(request, {"jwt": user})

    def deny(self, request: AuthRequest, reason: str) -> bytes:
        """Refuse the connection; the server logs the reason, the client sees an
        Authorization Violation."""
        return self._answer(request, {"error": reason})

    def _answer(self, request: AuthRequest, outcome: dict[str, str]) -> bytes:
        claims = {
            "sub": request.user_nkey,
            "aud": request.server_id,
            "nats": {**outcome, "type": "authorization_response", "version": 2},
        }
        return self.sign(claims).encode()

    def sign(self, claims: dict[str, Any]) -> str:
        claims = {**claims, "iss": self.public_key, "iat": int(time.time()), "jti": ""}
        unsigned = json.dumps(claims, separators=(",", ":")).encode()
        jti = hashlib.new("sha512_256", unsigned).digest()
        claims["jti"] = base64.b32encode(jti).rstrip(b"=").decode()
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{_HEADER}.{body}"
        return f"{signed}.{_b64(self._keys.sign(signed.encode()))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


__all__ = [
    "AUTH_SUBJECT",
    "GLOBAL_ACCOUNT",
    "AuthRequest",
    "Issuer",
    "account_public_key",
    "new_account_seed",
    "read_request",
]
