"""Signing in, and changing one's own password: the throttle, the password check off the
database, and the security log.

The password check (argon2) holds no database connection: the user is read in a short session
that is closed before it, and the outcome is written in another one after it. Checks run a few
at a time (`PasswordHashing`), so a flood of sign-ins queues for the hash and leaves the pool,
the CPU and the rest of the API to everything else.

Throttle: failures are counted per account (the username as typed, whether or not it names a
user, so that 429 tells nothing about which users exist) and per client address. Beyond the free
failures each one locks its account or address for 1 s, 2 s, 4 s ... up to a cap; attempts
while locked get 429 with Retry-After, without a password check, and count for nothing. A
success clears the account's count (not the address's: one valid account must not reset an
attacker's address). The cap bounds how long anyone can keep a user out: at most the cap after
the last failure. Counts live in PostgreSQL so that every gateway replica sees them.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okr_gateway import repository
from okr_gateway import security_repository as throttle
from okr_gateway.errors import SignInThrottled, Unauthorized
from okr_gateway.models import User
from okr_gateway.security import PasswordHashing
from okr_gateway.security_log import EventKind, Origin, record
from okr_gateway.security_repository import ThrottleKey
from okr_shared.errors import Forbidden

WRONG_CREDENTIALS = "incorrect username or password"


@dataclass(frozen=True)
class SignInPolicy:
    free_per_account: int
    free_per_address: int
    max_lockout_s: int

    def lockout_s(self, failures: int, free: int) -> int:
        """How long the failure numbered `failures` locks its account or address."""
        if failures <= free:
            return 0
        return min(self.max_lockout_s, 1 << min(failures - free - 1, 30))


@dataclass(frozen=True)
class SignIn:
    readers: async_sessionmaker[AsyncSession]
    sessions: async_sessionmaker[AsyncSession]
    passwords: PasswordHashing
    policy: SignInPolicy

    async def sign_in(self, username: str, password: str, address: str) -> User:
        keys = _keys(username, address)
        async with self.readers() as db:
            await self._refuse_if_locked(db, keys)
            user = await repository.get_user_by_username(db, username)
        signs_in = False

        async def settle(password_ok: bool) -> None:
            # Counted before the next check has its turn, so that its look sees this failure.
            nonlocal signs_in
            signs_in = password_ok and user is not None and user.is_active
            if not signs_in:
                await self._failed(keys, user, address, _why(user, password_ok))

        # Another look once this check has its turn: a burst sent at once all passed the first.
        await self.passwords.verify(
            user.password_hash if user else None,
            password,
            before=lambda: self._recheck(keys),
            after=settle,
        )
        if signs_in and user is not None:
            async with self.sessions.begin() as db:
                await throttle.forget_failures(db, keys[0])
                await record(
                    db,
                    EventKind.SIGN_IN_SUCCEEDED,
                    Origin(user.id, address),
                    user_id=user.id,
                    username=user.username,
                )
            return user
        raise Unauthorized(WRONG_CREDENTIALS)

    async def change_password(self, user: User, current: str, new: str, address: str) -> User:
        """The user's own change: the current password is checked (`confirm`), the new one
        hashed, and every token issued before ended."""
        await self.confirm(user, current, address, "a change")
        keys = _keys(user.username, address)
        password_hash = await self.passwords.hash(new)
        async with self.sessions.begin() as db:
            changes = {"password_hash": password_hash}
            changed = await repository.update_user(db, user.id, changes, end_tokens=True)
            if changed is None or not changed.is_active:
                raise Unauthorized("the user no longer exists or is deactivated")
            await throttle.forget_failures(db, keys[0])
            await record(db, EventKind.PASSWORD_CHANGED, Origin(user.id, address), user_id=user.id)
        return changed

    async def confirm(self, user: User, password: str, address: str, action: str) -> None:
        """A signed-in user's password, asked again before what a stolen token alone must not
        do (change it, make an API key, which outlives both): throttled like a sign-in, and a
        wrong one counted as a failed sign-in."""
        keys = _keys(user.username, address)
        async with self.readers() as db:
            await self._refuse_if_locked(db, keys)

        async def settle(password_ok: bool) -> None:
            if not password_ok:
                await self._failed(keys, user, address, f"wrong current password at {action}")

        if not await self.passwords.verify(
            user.password_hash, password, before=lambda: self._recheck(keys), after=settle
        ):
            raise Forbidden("the current password is wrong")

    async def _recheck(self, keys: list[ThrottleKey]) -> None:
        async with self.readers() as db:
            await self._refuse_if_locked(db, keys)

    @staticmethod
    async def _refuse_if_locked(db: AsyncSession, keys: list[ThrottleKey]) -> None:
        seconds = await throttle.seconds_locked(db, keys)
        if seconds > 0:
            raise SignInThrottled(max(1, math.ceil(seconds)))

    async def _failed(
        self, keys: list[ThrottleKey], user: User | None, address: str, why: str
    ) -> None:
        policy = self.policy
        locks = []
        async with self.sessions.begin() as db:
            for key, free in zip(
                keys, (policy.free_per_account, policy.free_per_address), strict=True
            ):
                failures = await throttle.count_failure(db, key)
                seconds = policy.lockout_s(failures, free)
                if seconds:
                    await throttle.lock(db, key, seconds)
                    locks.append(f"{key[0]} locked for {seconds} s after {failures} failures")
            user_id, username = (user.id, user.username) if user else (None, None)
            events = [(EventKind.SIGN_IN_FAILED, why)]
            if locks:
                events.append((EventKind.SIGN_IN_THROTTLED, "; ".join(locks)))
            for kind, detail in events:
                origin = Origin(None, address)
                await record(db, kind, origin, user_id=user_id, username=username, detail=detail)


def _keys(username: str, address: str) -> list[ThrottleKey]:
    return [("account", username[:100]), ("address", throttled_address(address))]


def throttled_address(address: str) -> str:
    """What the per-address count is kept by: the address, or for IPv6 its /64, which one
    subscriber usually holds whole (counting single IPv6 addresses, one machine could make
    2^64 of them)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _why(user: User | None, password_ok: bool) -> str:
    if user is None:
        return "unknown username"  # which one stays out of the log: it may be a password
    if not password_ok:
        return "wrong password"
    return "deactivated user"
