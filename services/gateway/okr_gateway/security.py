"""Passwords (argon2), bearer tokens (JWT with a pinned algorithm, issuer and audience) and API
key secrets (SHA-256 digests)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
ISSUER = "okr"
AUDIENCE = "okr-api"
KEY_PREFIX = "okr"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that an unknown user and a wrong password
# take the same time and get the same answer.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordHashing:
    """argon2, a few at a time. Each check takes ~0.1-0.2 s of CPU on several threads and 64 MiB
    of memory: unbounded, a flood of sign-ins would take every core and a gigabyte from the rest
    of the gateway. Bounded, it waits its turn (holding no database connection) and only
    sign-in slows down."""

    def __init__(self, concurrency: int) -> None:
        self._turns = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self._turns:
            return await asyncio.to_thread(_hasher.hash, password)

    async def verify(
        self,
        password_hash: str | None,
        password: str,
        before: Callable[[], Awaitable[None]] | None = None,
        after: Callable[[bool], Awaitable[None]] | None = None,
    ) -> bool:
        """True if the password matches. `before` runs once this check has its turn (and may
        raise), for what must be decided just before it, not when it began to wait; `after`
        runs with the outcome before the turn passes on, so that the next check's `before`
        sees it (a failure counted, a lock taken)."""

        # No hash, or one that is not argon2 (an integration's user, which has no password):
        # checked against the dummy all the same, so its answer takes as long as a real one's
        # and tells nothing about which usernames exist.
        usable = password_hash if password_hash and password_hash.startswith("$argon2") else None

        def verify() -> bool:
            try:
                return _hasher.verify(usable or _DUMMY_HASH, password) and usable is not None
            except (VerificationError, InvalidHashError):
                return False

        async with self._turns:
            if before is not None:
                await before()
            ok = await asyncio.to_thread(verify)
            if after is not None:
                await after(ok)
            return ok


CHECKED_TOKENS = 100_000  # tokens kept as checked, at most (a few hundred bytes each)


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    generation: int


@dataclass(frozen=True)
class Tokens:
    secret: str  # signs new tokens
    ttl: timedelta
    # Keys that signed tokens still in use, accepted but never used to sign: a key rotation
    # that signs no one out (docs/SECURITY.md).
    previous: tuple[str, ...] = ()
    # Tokens found good, with their expiry: a signature is checked once per token, not per
    # request (PyJWT's decode was 11 % of the CPU of a GET answered from the read model). A
    # token's claims never change; its expiry is checked on every use, its generation by the
    # caller against the user's.
    _checked: dict[str, tuple[TokenClaims, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def issue(self, user_id: int, generation: int) -> tuple[str, int]:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "gen": generation,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), int(self.ttl.total_seconds())

    def read(self, token: str) -> TokenClaims | None:
        """The token's user and generation, or None for any token that is not ours, intact and
        current. Whether its generation is still the user's is the caller's to check."""
        checked = self._checked.get(token)
        if checked is not None:
            if time.time() < checked[1]:
                return checked[0]
            del self._checked[token]
            return None
        for secret in (self.secret, *self.previous):
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=[ALGORITHM],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "sub", "iss", "aud", "gen"]},
                )
            except jwt.InvalidSignatureError:
                continue  # perhaps signed with a previous key
            except (jwt.PyJWTError, ValueError):
                return None
            found = _claims(claims)
            if found is not None:
                self._keep(token, found, float(claims["exp"]))
            return found
        return None

    def _keep(self, token: str, claims: TokenClaims, expires: float) -> None:
        if len(self._checked) >= CHECKED_TOKENS:
            self._checked.pop(next(iter(self._checked)))  # the oldest kept
        self._checked[token] = (claims, expires)


def _claims(claims: dict[str, object]) -> TokenClaims | None:
    generation, subject = claims["gen"], claims["sub"]
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    if not isinstance(subject, str) or not subject.isdecimal():
        return None
    return TokenClaims(int(subject), generation)


@dataclass(frozen=True)
class NewKey:
    prefix: str
    key: str  # shown once, never stored
    digest: bytes


def new_api_key() -> NewKey:
    prefix = secrets.token_hex(6)  # hex: never an underscore, so the key splits unambiguously
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix, key, key_digest(key))


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(f"{KEY_PREFIX}_")


def api_key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    if not all(c in "0123456789abcdef" for c in parts[1]):
        return None
    return parts[1]


def same_digest(key: str, digest: bytes) -> bool:
    return hmac.compare_digest(key_digest(key), digest)
