"""Objectives as the outside world sees them: responses for readers, states for events."""

from __future__ import annotations

from okr_objectives.models import AuditEntry, CheckInRow, KpiLink, Objective
from okr_shared.contracts import objectives as contract
from okr_shared.contracts.objective_events import LinkState, ObjectiveState


def response(objective: Objective) -> contract.ObjectiveResponse:
    return contract.ObjectiveResponse.model_validate(objective, from_attributes=True)


def state(objective: Objective) -> ObjectiveState:
    return ObjectiveState(
        id=objective.id,
        parent_id=objective.parent_id,
        level=contract.ObjectiveLevel(objective.level),
        status=contract.ObjectiveStatus(objective.status),
        manual_progress=objective.manual_progress,
        deleted=objective.deleted_at is not None,
        version=objective.version,
        owner_id=objective.owner_id,
        department=objective.department,
        title=objective.title,
        description=objective.description,
        year=objective.year,
        quarter=contract.Quarter(objective.quarter) if objective.quarter else None,
        start_date=objective.start_date,
        end_date=objective.end_date,
        progress_percentage=objective.progress_percentage,
        progress_version=objective.progress_version,
        created_at=objective.created_at,
        updated_at=objective.updated_at,
        created_by=objective.created_by,
        last_check_in=(
            contract.CheckIn.model_validate(objective.last_check_in)
            if objective.last_check_in
            else None
        ),
        grade=objective.grade,
        grade_version=objective.grade_version,
    )


def link_view(link: KpiLink) -> contract.ObjectiveKPILink:
    return contract.ObjectiveKPILink.model_validate(link, from_attributes=True)


def link_state(link: KpiLink) -> LinkState:
    return LinkState(
        objective_id=link.objective_id,
        kpi_id=link.kpi_id,
        weight=link.weight,
        active=link.deleted_at is None,
        version=link.version,
    )


def audit_view(entry: AuditEntry) -> contract.AuditEntry:
    return contract.AuditEntry.model_validate(entry, from_attributes=True)


def check_in_view(row: CheckInRow) -> contract.CheckIn:
    return contract.CheckIn.model_validate(row, from_attributes=True)
