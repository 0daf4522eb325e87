"""A token's signature is checked once and its claims kept, but its expiry on every use, and
only good tokens are kept."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt

from okr_gateway.security import TokenClaims, Tokens

SECRET = "s" * 40


def test_a_kept_token_still_expires() -> None:
    tokens = Tokens(SECRET, timedelta(seconds=1))
    token, _ = tokens.issue(7, 3)
    assert tokens.read(token) == TokenClaims(7, 3)
    assert tokens.read(token) == TokenClaims(7, 3)  # from what was kept
    time.sleep(1.1)
    assert tokens.read(token) is None


def test_a_forged_token_is_never_kept_nor_accepted() -> None:
    tokens = Tokens(SECRET, timedelta(minutes=5))
    token, _ = tokens.issue(7, 3)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "1"}, "x" * 40, algorithm="HS256")
    assert tokens.read(forged) is None
    assert tokens.read(forged) is None
    assert tokens.read(token) == TokenClaims(7, 3)


def test_another_gateways_tokens_are_not_taken_from_what_this_one_kept() -> None:
    mine, theirs = Tokens(SECRET, timedelta(minutes=5)), Tokens("t" * 40, timedelta(minutes=5))
    token, _ = mine.issue(7, 3)
    assert mine.read(token) == TokenClaims(7, 3)
    assert theirs.read(token) is None
