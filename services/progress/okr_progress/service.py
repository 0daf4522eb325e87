"""Use cases of the progress service: fold events into the projection, and roll up.

Every batch is one transaction: apply the events (newest version wins), then recompute the
objectives they touched and all their ancestors from source values, bottom-up, under row locks
taken in id order, and publish one progress.objective.<id> per objective whose rollup changed
(and keep it as a point of the objective's history: okr_progress.history).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from okr_progress import history_repository, repository
from okr_progress.contributions import contributions as sources
from okr_progress.rollup import Inputs, LinkedKpi, Node, Rollup, bottom_up, compute
from okr_shared import channels, subjects
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import (
    LinkState,
    ObjectiveCheckedIn,
    ObjectiveEvent,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectivesGraded,
    ObjectivesReopened,
    ObjectivesRestored,
    ObjectiveState,
)
from okr_shared.contracts.progress import (
    CalculationMethod,
    Contributions,
    KpisExport,
    ObjectiveProgressUpdated,
    ObjectivesExport,
    ProgressCalculation,
    RebuildReport,
)
from okr_shared.errors import NotFound
from okr_shared.outbox import Outbox

PUBLISHES = (channels.PROGRESS_UPDATED,)

MAX_CLOSURE_ROUNDS = 5


async def apply_objective_events(
    session: AsyncSession, outbox: Outbox, events: Iterable[ObjectiveEvent]
) -> None:
    objectives: dict[int, ObjectiveState] = {}
    links: dict[tuple[int, int], LinkState] = {}
    seeds: set[int] = set()
    grades: dict[int, tuple[int, bool, float, int]] = {}  # id -> (id, frozen, progress, version)
    for event in events:
        if isinstance(event, ObjectiveCheckedIn):
            continue  # says how it goes; moves no progress
        if isinstance(event, ObjectivesGraded | ObjectivesReopened):
            for change in _grade_changes(event):
                held = grades.get(change[0])
                if held is None or held[3] < change[3]:
                    grades[change[0]] = change
                seeds.add(change[0])  # their ancestors average the graded progress, or not
            continue
        if isinstance(event, ObjectiveKpiLinked | ObjectiveKpiUnlinked):
            key = (event.link.objective_id, event.link.kpi_id)
            if key not in links or links[key].version < event.link.version:
                links[key] = event.link
            seeds.add(event.link.objective_id)
            continue
        states = (
            event.objectives
            if isinstance(event, ObjectivesDeleted | ObjectivesRestored)
            else [event.objective]
        )
        if isinstance(event, ObjectiveMoved) and event.previous_parent_id is not None:
            seeds.add(event.previous_parent_id)  # the old ancestors lose a child
        for state in states:
            seeds.add(state.id)
            if state.parent_id is not None:
                seeds.add(state.parent_id)
            if state.id not in objectives or objectives[state.id].version < state.version:
                objectives[state.id] = state
    # First, before any objective row: the same order as a KPI batch, which locks its KPIs
    # and then its objectives.
    await repository.hold_kpis(session, {kpi_id for _, kpi_id in links})
    await repository.hold_objectives(session, seeds)
    await repository.upsert_objectives(session, list(objectives.values()))
    await repository.upsert_links(session, list(links.values()))
    await repository.set_frozen(session, list(grades.values()))
    await recompute(session, outbox, seeds)


async def apply_kpi_events(
    session: AsyncSession, outbox: Outbox, events: Iterable[KpiProgressChanged]
) -> None:
    newest: dict[int, KpiProgressChanged] = {}
    for event in events:  # only the latest value per KPI matters
        if event.kpi_id not in newest or newest[event.kpi_id].version < event.version:
            newest[event.kpi_id] = event
    # Storing the KPIs locks them, and waits for any link to them being applied meanwhile: so
    # the objectives linking them, read next, include that link's objective.
    await repository.upsert_kpis(session, list(newest.values()))
    await recompute(session, outbox, await repository.objectives_linking(session, list(newest)))


async def recompute(
    session: AsyncSession, outbox: Outbox, seeds: Collection[int]
) -> list[ObjectiveProgressUpdated]:
    """Roll up `seeds` and their ancestors; store and publish what changed."""
    if not seeds:
        return []
    rows = await _locked_closure(session, seeds)
    live = {i: r for i, r in rows.items() if not r.deleted}
    results = await _compute(session, live)
    now = datetime.now(UTC)
    changed = [(i, result) for i, result in results.items() if _differs(rows[i], result)]
    updates = [
        ObjectiveProgressUpdated(
            objective_id=i,
            progress_percentage=r.progress,
            calculation_method=r.method,
            child_count=r.child_count,
            kpi_count=r.kpi_count,
            last_calculated=now,
            version=rows[i].progress_version + 1,
        )
        for i, r in changed
    ]
    await repository.write_rollups(session, updates)
    # The history point of each change commits with the rollup it records: a chart never
    # shows a rollup that was rolled back, nor misses one that was published.
    await history_repository.record(session, updates)
    await outbox.add_each(
        session, [(subjects.progress_subject(u.objective_id), u) for u in updates]
    )
    return updates


async def _locked_closure(
    session: AsyncSession, seeds: Collection[int]
) -> dict[int, repository.NodeRow]:
    """The seeds and their ancestors, locked, as they are once locked. A move may commit between
    finding the ancestors and locking them: then a locked row names a parent outside the set,
    and that parent's ancestors are locked too, until nothing is missing."""
    rows: dict[int, repository.NodeRow] = {}
    pending = set(seeds)
    for _ in range(MAX_CLOSURE_ROUNDS):
        rows.update({row.id: row for row in await repository.lock_closure(session, pending)})
        parents = {r.parent_id for r in rows.values() if r.parent_id is not None}
        pending = parents - rows.keys()
        if not pending:
            break
    return rows


async def _compute(
    session: AsyncSession, rows: Mapping[int, repository.NodeRow]
) -> dict[int, Rollup]:
    """The rollup of `rows` (live objectives, closed under "parent of" among themselves)."""
    nodes, inputs = await _inputs(session, rows)
    return compute(bottom_up(nodes), nodes, inputs)


async def _inputs(
    session: AsyncSession, rows: Mapping[int, repository.NodeRow]
) -> tuple[dict[int, Node], Inputs]:
    """What the rollup of `rows` reads: two statements, however many rows."""
    nodes = {i: Node(i, r.parent_id, r.manual_progress) for i, r in rows.items()}
    inputs = Inputs(frozen={i: _as_graded(r) for i, r in rows.items() if r.frozen})
    for parent_id, child_id, progress in await repository.counted_children(session, list(nodes)):
        inputs.counted_children.setdefault(parent_id, []).append(child_id)
        inputs.stored_progress[child_id] = progress
    links = await repository.active_links(session, list(nodes))
    for objective_id, kpi_id, weight, kpi_progress in links:
        inputs.kpi_count[objective_id] = inputs.kpi_count.get(objective_id, 0) + 1
        if kpi_progress is not None:
            inputs.kpis.setdefault(objective_id, []).append(LinkedKpi(weight, kpi_progress, kpi_id))
    return nodes, inputs


def _grade_changes(
    event: ObjectivesGraded | ObjectivesReopened,
) -> list[tuple[int, bool, float, int]]:
    if isinstance(event, ObjectivesGraded):
        return [(o.id, True, o.progress_percentage, o.version) for o in event.objectives]
    return [(o.id, False, 0.0, o.version) for o in event.objectives]


def _as_graded(row: repository.NodeRow) -> Rollup:
    """A frozen objective's rollup: the progress it was graded at."""
    return Rollup(
        row.graded_progress if row.graded_progress is not None else row.manual_progress,
        CalculationMethod(row.calculation_method or CalculationMethod.MANUAL),
        row.child_count,
        row.kpi_count,
    )


def _differs(row: repository.NodeRow, result: Rollup) -> bool:
    return bool(
        row.progress != result.progress
        or row.calculation_method != result.method.value
        or row.child_count != result.child_count
        or row.kpi_count != result.kpi_count
    )


async def calculate(session: AsyncSession, objective_id: int) -> ProgressCalculation:
    """The rollup of one objective computed now from its inputs; nothing is stored."""
    rows = {row.id: row for row in await repository.nodes(session, [objective_id])}
    row = rows.get(objective_id)
    if row is None or row.deleted:
        raise NotFound(f"objective {objective_id} not found")
    result = (await _compute(session, rows))[objective_id]
    return ProgressCalculation(
        objective_id=objective_id,
        progress_percentage=result.progress,
        calculation_method=CalculationMethod(result.method),
        child_count=result.child_count,
        kpi_count=result.kpi_count,
        last_calculated=datetime.now(UTC),
    )


async def contributions(session: AsyncSession, objective_id: int) -> Contributions:
    """Every source of one objective's progress with its effective weight, from its subtree
    rolled up now (three statements on one snapshot): the progress answered is that rollup's,
    so the contributions add up to it even while events are being applied."""
    await repository.one_snapshot(session)
    rows = {row.id: row for row in await repository.counted_subtree(session, objective_id)}
    if objective_id not in rows:
        raise NotFound(f"objective {objective_id} not found")
    nodes, inputs = await _inputs(session, rows)
    results = compute(bottom_up(nodes), nodes, inputs)
    return Contributions(
        objective_id=objective_id,
        progress_percentage=results[objective_id].progress,
        items=sources(objective_id, nodes, inputs, results),
    )


async def recalculate(
    session: AsyncSession, outbox: Outbox, objective_id: int
) -> ProgressCalculation:
    """Recompute one objective from source, store it, cascade to its ancestors, publish."""
    calculation = await calculate(session, objective_id)
    await recompute(session, outbox, {objective_id})
    return calculation


async def rebuild(
    session: AsyncSession, outbox: Outbox, objectives: ObjectivesExport, kpis: KpisExport
) -> RebuildReport:
    """Replace the projection with the services' current states and recompute everything."""
    await repository.lock_projection(session)
    await repository.replace_projection(session, objectives.objectives, objectives.links, kpis.kpis)
    changed = await recompute(session, outbox, [o.id for o in objectives.objectives])
    return RebuildReport(
        objectives=len(objectives.objectives),
        links=len(objectives.links),
        kpis=len(kpis.kpis),
        changed=len(changed),
    )
