"""What every write of the objectives service leaves besides its rows: an audit entry per
objective it touched, and an answer that carries the events it published."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import repository
from okr_shared.contracts.common import Actor
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.objective_rpc import ObjectiveWrite

T = TypeVar("T")


async def record_audit(
    session: AsyncSession, actor: Actor, action: str, entries: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    await repository.record(
        session,
        [
            {"objective_id": oid, "action": action, "actor_id": actor.user_id, "changes": changes}
            for oid, changes in entries
        ],
    )


def written(result: T, events: Sequence[ObjectiveEvent] = ()) -> ObjectiveWrite[T]:
    return ObjectiveWrite(result=result, events=list(events))


def plain(value: Any) -> Any:
    """A JSON-friendly value for the audit trail and for comparisons."""
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
