"""Failed sign-ins are throttled per account and per client address: 429 with a growing
Retry-After, the same for an unknown user as for a known one; each attempt is in the
security log (issue 13, part 5)."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from httpx import AsyncClient, Response

from tests.support.gateways import client_at, extra_gateway
from tests.support.system import RunningSystem

LOGIN = "/api/v1/auth/login"


async def sign_in(client: AsyncClient, username: str, password: str) -> Response:
    return await client.post(LOGIN, data={"username": username, "password": password})


async def fail(client: AsyncClient, username: str, times: int) -> None:
    for _ in range(times):
        response = await sign_in(client, username, "not-the-password")
        assert response.status_code == 401, response.text


def throttled(response: Response, lock_s: int) -> None:
    """429 during a lock of `lock_s`: Retry-After is what is left of it, rounded up."""
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= lock_s, response.headers
    assert response.json()["code"] == "rate_limited"
    assert "too many failed sign-ins" in response.json()["detail"]


async def events_of(system: RunningSystem, user_id: int) -> list[dict[str, Any]]:
    response = await system.client.get(
        "/api/v1/audit/security", params={"user_id": user_id}, headers=system.admin_headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_failures_lock_an_account_for_a_growing_while(system: RunningSystem) -> None:
    password = secrets.token_urlsafe(12)
    user, _ = await system.user("employee", password=password)
    name = user["username"]
    free = system.app.state.gateway.settings.sign_in_free_failures
    async with (
        client_at(system.app, "203.0.113.7") as here,
        client_at(system.app, "203.0.113.8") as elsewhere,
    ):
        await fail(here, name, free + 1)  # the last one locks the account for 1 s
        throttled(await sign_in(here, name, password), 1)  # not even the right password
        throttled(await sign_in(elsewhere, name, password), 1)  # per account, any address
        await asyncio.sleep(1.1)
        await fail(here, name, 1)  # checked again once the lock is over: now 2 s
        throttled(await sign_in(here, name, password), 2)
        await asyncio.sleep(2.1)
        assert (await sign_in(here, name, password)).status_code == 200
        await fail(here, name, 1)  # a success cleared the account's count
        assert (await sign_in(here, name, password)).status_code == 200
    kinds = [(e["kind"], e["client_address"]) for e in await events_of(system, user["id"])]
    assert kinds.count(("sign_in_failed", "203.0.113.7")) == free + 3
    assert ("sign_in_throttled", "203.0.113.7") in kinds
    assert kinds.count(("sign_in_succeeded", "203.0.113.7")) == 2
    refusals = [e for e in await events_of(system, user["id"]) if e["kind"] == "sign_in_throttled"]
    # One per lock, not one per refused attempt; each lock twice the one before.
    assert [r["detail"].split(" after ")[0] for r in refusals] == [
        "account locked for 2 s",
        "account locked for 1 s",
    ]


async def test_an_unknown_user_is_throttled_like_a_known_one(system: RunningSystem) -> None:
    """Otherwise a 429 would tell which usernames exist."""
    user, _ = await system.user("employee")
    unknown = f"nobody-{secrets.token_hex(4)}"
    free = system.app.state.gateway.settings.sign_in_free_failures
    answers = []
    async with client_at(system.app, "203.0.113.9") as client:
        for username in (user["username"], unknown):
            await fail(client, username, free + 1)
            answers.append(await sign_in(client, username, "whatever-it-is"))
    for answer in answers:
        throttled(answer, 1)
    assert answers[0].json() == answers[1].json()
    log = await system.client.get(
        "/api/v1/audit/security", params={"kind": "sign_in_failed"}, headers=system.admin_headers
    )
    ours = [e for e in log.json()["items"] if e["client_address"] == "203.0.113.9"]
    assert {(e["user_id"], e["username"], e["detail"]) for e in ours} == {
        (user["id"], user["username"], "wrong password"),
        (None, None, "unknown username"),  # what was typed stays out: it may be a password
    }


async def test_failures_from_one_address_lock_that_address(
    system: RunningSystem, tmp_path: Path
) -> None:
    password = secrets.token_urlsafe(12)
    user, _ = await system.user("employee", password=password)
    async with (
        extra_gateway(system, tmp_path, sign_in_free_failures_per_address=3) as app,
        client_at(app, "198.18.0.1") as attacker,
        client_at(app, "198.18.0.2") as other,
    ):
        for i in range(4):  # a different account each time: only the address adds up
            await fail(attacker, f"guess-{i}-{secrets.token_hex(3)}", 1)
        throttled(await sign_in(attacker, user["username"], password), 1)
        assert (await sign_in(other, user["username"], password)).status_code == 200
        await asyncio.sleep(1.1)
        assert (await sign_in(attacker, user["username"], password)).status_code == 200
        # A success clears the account's count, not the address's: the next failure locks it.
        await fail(attacker, f"guess-{secrets.token_hex(3)}", 1)
        throttled(await sign_in(attacker, user["username"], password), 2)


async def test_a_burst_sent_at_once_gets_no_more_guesses(system: RunningSystem) -> None:
    """Sent together, every attempt passes the first look at the lock before any has failed;
    the look again once each has its turn at the password check stops the rest."""
    user, _ = await system.user("employee")
    settings = system.app.state.gateway.settings
    burst = 24
    clients = [client_at(system.app, f"192.0.2.{i + 1}") for i in range(burst)]
    try:
        answers = await asyncio.gather(
            *(sign_in(c, user["username"], "not-the-password") for c in clients)
        )
    finally:
        for client in clients:
            await client.aclose()
    codes = [a.status_code for a in answers]
    assert set(codes) == {401, 429}, codes
    # Beyond the free failures, only the checks already under way when the lock came.
    most = settings.sign_in_free_failures + 1 + settings.password_hashing_concurrency
    assert codes.count(401) <= most, codes
