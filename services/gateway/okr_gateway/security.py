"""Passwords (argon2) and bearer tokens (JWT with a pinned algorithm, issuer and audience)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
ISSUER = "okr"
AUDIENCE = "okr-api"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that an unknown user and a wrong password
# take the same time and get the same answer.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return (
                _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@dataclass(frozen=True)
class Tokens:
    secret: str
    ttl: timedelta

    def issue(self, user_id: int) -> tuple[str, int]:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), int(self.ttl.total_seconds())

    def user_id(self, token: str) -> int | None:
        """The token's user id, or None for any token that is not ours, intact and current."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError):
            return None
