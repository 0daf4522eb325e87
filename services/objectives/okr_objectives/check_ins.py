"""Check-ins: how an objective goes, in the words of someone who may update it. Each is kept;
the objective shows the newest (`last_check_in`) and `objective.checked_in` tells the others."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from okr_objectives import check_in_repository, freezing, repository
from okr_objectives.permissions import ensure_can_update, ensure_objectives_role, found
from okr_objectives.views import check_in_view
from okr_shared import subjects
from okr_shared.contracts.common import Page
from okr_shared.contracts.objective_events import ObjectiveCheckedIn
from okr_shared.contracts.objective_rpc import CheckInObjective, ListCheckIns, ObjectiveWrite
from okr_shared.contracts.objectives import CheckIn
from okr_shared.outbox import Outbox


async def check_in(
    session: AsyncSession, outbox: Outbox, request: CheckInObjective
) -> ObjectiveWrite[CheckIn]:
    actor = request.actor
    ensure_objectives_role(actor)
    # Locked: of two check-ins at once, the one made second is the one the objective shows.
    objective = found(
        await repository.get_objective(
            session, request.objective_id, seen_by=actor, for_update=True
        ),
        request.objective_id,
    )
    ensure_can_update(actor, objective)
    await freezing.ensure_not_frozen(session, objective)
    given = request.check_in
    row = await check_in_repository.insert_check_in(
        session,
        {
            "objective_id": objective.id,
            "status": given.status.value,
            "confidence": given.confidence,
            "note": given.note,
            "progress_percentage": objective.progress_percentage,
            "author_id": actor.user_id,
        },
    )
    made = check_in_view(row)
    await check_in_repository.set_last_check_in(session, objective.id, made.model_dump(mode="json"))
    event = ObjectiveCheckedIn(check_in=made)
    await outbox.add(session, subjects.OBJECTIVE_CHECKED_IN, [event])
    return ObjectiveWrite(result=made, events=[event])


async def check_ins(session: AsyncSession, request: ListCheckIns) -> Page[CheckIn]:
    """Newest first, of an objective the caller may see."""
    ensure_objectives_role(request.actor)
    found(
        await repository.get_objective(session, request.objective_id, seen_by=request.actor),
        request.objective_id,
    )
    rows, total = await check_in_repository.page(
        session, request.objective_id, request.skip, request.limit
    )
    return Page(
        items=[check_in_view(r) for r in rows], total=total, skip=request.skip, limit=request.limit
    )
