"""A random world of objectives, links and KPI values, told as the events the objectives and
KPIs services would publish, and the rollup computed from it from scratch (the oracle)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from okr_shared.contracts.common import Event
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import (
    GradedObjective,
    LinkState,
    ObjectiveCreated,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectivesGraded,
    ObjectivesReopened,
    ObjectivesRestored,
    ObjectiveState,
    ObjectiveUpdated,
    ReopenedObjective,
)
from okr_shared.contracts.objectives import ObjectiveLevel, ObjectiveStatus

LEVELS = list(ObjectiveLevel)


@dataclass
class World:
    objectives: dict[int, ObjectiveState] = field(default_factory=dict)
    links: dict[tuple[int, int], LinkState] = field(default_factory=dict)
    kpis: dict[int, KpiProgressChanged] = field(default_factory=dict)
    events: list[tuple[str, Event]] = field(default_factory=list)  # (subject, event)
    # Closed periods: id -> (frozen, graded progress, grade version), the newest of each.
    grades: dict[int, tuple[bool, float, int]] = field(default_factory=dict)

    def frozen(self) -> dict[int, float]:
        return {oid: p for oid, (frozen, p, _) in self.grades.items() if frozen}

    def rollup(self) -> dict[int, float]:
        """Every live objective's progress, by the rules, computed recursively from scratch."""
        memo: dict[int, float] = dict(self.frozen())  # graded: their progress stays
        memo = {oid: p for oid, p in memo.items() if not self.objectives[oid].deleted}
        children = self._counted_children()

        def progress(oid: int) -> float:
            if oid in memo:
                return memo[oid]
            kids = children.get(oid, [])
            if kids:
                value = sum(progress(k) for k in kids) / len(kids)
            else:
                weighted = self._weighted(oid)
                total = sum(w for _, w, _ in weighted)
                value = (
                    sum(w * p for _, w, p in weighted) / total
                    if weighted and total > 0
                    else self.objectives[oid].manual_progress
                )
            memo[oid] = min(100.0, max(0.0, value))
            return memo[oid]

        return {oid: progress(oid) for oid, o in self.objectives.items() if not o.deleted}

    def contributions(self, oid: int) -> dict[tuple[str, int], float]:
        """Each source's effective weight on `oid`, ("kpi", its id), ("manual" or "graded",
        the objective's id), by the rules read literally: all of it to a graded (frozen)
        objective, 1/n down to each of n counted children, w/sum(w) to each KPI with a progress,
        all of it to a manual objective."""
        children = self._counted_children()
        graded = self.frozen()
        found: dict[tuple[str, int], float] = {}

        def share(o: int, weight: float) -> None:
            if o in graded:
                found[("graded", o)] = found.get(("graded", o), 0.0) + weight
                return
            kids = children.get(o, [])
            weighted = self._weighted(o)
            total = sum(w for _, w, _ in weighted)
            if kids:
                for kid in kids:
                    share(kid, weight / len(kids))
            elif weighted and total > 0:
                for kpi_id, w, _ in weighted:
                    found[("kpi", kpi_id)] = found.get(("kpi", kpi_id), 0.0) + weight * w / total
            else:
                found[("manual", o)] = found.get(("manual", o), 0.0) + weight

        share(oid, 1.0)
        return found

    def _counted_children(self) -> dict[int, list[int]]:
        children: dict[int, list[int]] = {}
        for o in self.objectives.values():
            if (
                not o.deleted
                and o.status is not ObjectiveStatus.ABANDONED
                and o.parent_id is not None
            ):
                children.setdefault(o.parent_id, []).append(o.id)
        return children

    def _weighted(self, oid: int) -> list[tuple[int, float, float]]:
        """(KPI id, weight, progress) of the objective's active links to KPIs with a progress."""
        found = []
        for (o, kpi_id), link in self.links.items():
            kpi = self.kpis.get(kpi_id)
            if o == oid and link.active and kpi and kpi.active and kpi.progress is not None:
                found.append((kpi_id, link.weight, kpi.progress))
        return found


def _state(o: ObjectiveState, **changes: Any) -> ObjectiveState:
    return o.model_copy(update={**changes, "version": o.version + 1})


def build(seed: int, objectives: int = 300, kpis: int = 30, values: int = 3000) -> World:
    rng = random.Random(seed)
    world = World()
    add = world.events.append
    for oid in range(1, objectives + 1):
        parents = [p for p in world.objectives.values() if LEVELS.index(p.level) < 3]
        parent = rng.choice(parents) if parents and rng.random() > 0.05 else None
        level = LEVELS[LEVELS.index(parent.level) + 1] if parent else ObjectiveLevel.COMPANY
        state = ObjectiveState(
            id=oid,
            parent_id=parent.id if parent else None,
            level=level,
            status=ObjectiveStatus.ACTIVE,
            manual_progress=rng.uniform(0, 100),
            version=1,
        )
        world.objectives[oid] = state
        add(("objective.created", ObjectiveCreated(objective=state)))
    for _ in range(objectives // 2):  # changes: status, manual progress, moves, deletes
        o = world.objectives[rng.randint(1, objectives)]
        if o.deleted:
            continue
        roll = rng.random()
        if roll < 0.3:
            new = _state(o, status=rng.choice(list(ObjectiveStatus)))
            add(("objective.updated", ObjectiveUpdated(objective=new, changed=["status"])))
        elif roll < 0.55:
            new = _state(o, manual_progress=rng.uniform(0, 100))
            add(
                (
                    "objective.updated",
                    ObjectiveUpdated(objective=new, changed=["progress_percentage"]),
                )
            )
        elif roll < 0.8:
            target = _move_target(world, o, rng)
            if target is None:
                continue
            new = _state(o, parent_id=target)
            add(("objective.moved", ObjectiveMoved(objective=new, previous_parent_id=o.parent_id)))
        else:
            subtree = _subtree(world, o.id)
            gone = [_state(world.objectives[s], deleted=True) for s in subtree]
            for g in gone:
                world.objectives[g.id] = g
            add(("objective.deleted", ObjectivesDeleted(objectives=gone)))
            parent = world.objectives.get(o.parent_id) if o.parent_id else None
            if rng.random() < 0.4 and (parent is None or not parent.deleted):
                back = [_state(world.objectives[g.id], deleted=False) for g in gone]
                for b in back:
                    world.objectives[b.id] = b
                add(("objective.restored", ObjectivesRestored(objectives=back)))
            continue
        world.objectives[o.id] = new
    for _ in range(objectives):
        key = (rng.randint(1, objectives), rng.randint(1, kpis))
        held = world.links.get(key)
        active = not (held and held.active and rng.random() < 0.3)
        link = LinkState(
            objective_id=key[0],
            kpi_id=key[1],
            weight=rng.choice([0.1, 0.25, 0.5, 1.0]),
            active=active,
            version=(held.version + 1) if held else 1,
        )
        world.links[key] = link
        event = ObjectiveKpiLinked(link=link) if active else ObjectiveKpiUnlinked(link=link)
        add((f"objective.{'kpi_linked' if active else 'kpi_unlinked'}", event))
    _close_and_reopen(world, rng)
    for n in range(values):
        kid = rng.randint(1, kpis)
        held = world.kpis.get(kid)
        progress = None if rng.random() < 0.02 else round(rng.uniform(0, 100), 3)
        event = KpiProgressChanged(
            kpi_id=kid,
            progress=progress,
            value=progress,
            observed_at=datetime.now(UTC),
            active=rng.random() > 0.03,
            version=(held.version + 1) if held else 1,
        )
        world.kpis[kid] = event
        add(("kpi.progress_changed", event))
        del n
    return world


def _close_and_reopen(world: World, rng: random.Random) -> None:
    """Periods closed over a tenth of the live objectives (each graded at a progress of its
    own), a third of them reopened, and some of those closed again: events whose order the
    grade versions settle, before and among the KPI values that must not move them."""
    live = [o.id for o in world.objectives.values() if not o.deleted]
    graded = rng.sample(live, len(live) // 10)
    rounds = [graded, graded[: len(graded) // 3], graded[: len(graded) // 6]]
    for n, ids in enumerate(rounds):
        frozen = n % 2 == 0
        changes = {}
        for oid in ids:
            held = world.grades.get(oid, (False, 0.0, 0))
            progress = round(rng.uniform(0, 100), 3) if frozen else 0.0
            changes[oid] = (frozen, progress, held[2] + 1)
        world.grades.update(changes)
        if frozen:
            event: Event = ObjectivesGraded(
                year=2026,
                quarter=None,
                objectives=[
                    GradedObjective(id=i, progress_percentage=p, grade=round(p / 100, 2), version=v)
                    for i, (_, p, v) in changes.items()
                ],
            )
            world.events.append(("objective.graded", event))
        else:
            event = ObjectivesReopened(
                year=2026,
                quarter=None,
                objectives=[ReopenedObjective(id=i, version=v) for i, (_, _, v) in changes.items()],
            )
            world.events.append(("objective.reopened", event))


def _subtree(world: World, root: int) -> list[int]:
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        kids = [o.id for o in world.objectives.values() if o.parent_id == parent and not o.deleted]
        found += kids
        frontier += kids
    return found


def _move_target(world: World, o: ObjectiveState, rng: random.Random) -> int | None:
    if o.level is ObjectiveLevel.COMPANY:
        return None
    below = set(_subtree(world, o.id))
    options = [
        p.id
        for p in world.objectives.values()
        if not p.deleted and p.id not in below and LEVELS.index(p.level) < LEVELS.index(o.level)
    ]
    return rng.choice(options) if options else None
