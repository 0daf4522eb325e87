"""The security log: who signed in or failed to, who signed out, whose password or keys changed.
Each event is written in the transaction of what it records. Read by admins only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from okr_gateway import security_repository as repository
from okr_gateway.models import SecurityEvent


class EventKind(StrEnum):
    SIGN_IN_SUCCEEDED = "sign_in_succeeded"
    SIGN_IN_FAILED = "sign_in_failed"
    # A failed sign-in that locked its account or address (once per lock, not per refusal: a
    # flood of refused attempts must not become a flood of rows).
    SIGN_IN_THROTTLED = "sign_in_throttled"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - by the user themselves
    PASSWORD_RESET = "password_reset"  # noqa: S105 - by an admin
    USER_CREATED = "user_created"
    USER_ROLE_CHANGED = "user_role_changed"
    USER_DEACTIVATED = "user_deactivated"
    USER_REACTIVATED = "user_reactivated"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"


@dataclass(frozen=True)
class Origin:
    """Who acts, and from where."""

    actor_id: int | None
    client_address: str | None


async def record(
    session: AsyncSession,
    kind: EventKind,
    origin: Origin,
    *,
    user_id: int | None = None,
    username: str | None = None,
    api_key_id: int | None = None,
    detail: str = "",
) -> None:
    await repository.insert_event(
        session,
        {
            "kind": kind.value,
            "actor_id": origin.actor_id,
            "user_id": user_id,
            "username": username,
            "client_address": (origin.client_address or "")[:64] or None,
            "api_key_id": api_key_id,
            "detail": detail[:200],
        },
    )


async def list_events(
    session: AsyncSession, kind: EventKind | None, user_id: int | None, skip: int, limit: int
) -> tuple[list[SecurityEvent], int]:
    return await repository.list_events(session, kind.value if kind else None, user_id, skip, limit)
