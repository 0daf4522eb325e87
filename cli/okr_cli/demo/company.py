"""The plan of a made-up company, as plain data: who works there, its objectives over four
levels (company, divisions, teams, individuals) and its KPIs with their links and weights.

Nothing here talks to the system; build.py creates the plan. Every run has its own suffix, so
running the demo twice makes a second company beside the first (usernames are unique).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from okr_cli.demo.catalog import DIVISIONS, FIRST_NAMES, LAST_NAMES, Division, KpiTemplate
from okr_shared.contracts.common import Role
from okr_shared.contracts.kpis import Direction
from okr_shared.contracts.objectives import ObjectiveLevel

MIN_SIZE = 10  # a company, two divisions, two teams and someone in them, with room to spare
MAX_SIZE = 10_000
EMPLOYEES_PER_DIVISION = 3
KPIS_PER_TEAM = 4  # one of each direction
WEIGHTS = (1.0, 0.5, 0.25)


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    role: Role
    department: str | None


@dataclass(frozen=True)
class KpiPlan:
    key: int
    title: str
    unit: str
    direction: Direction
    baseline: float
    target: float
    owner: str  # username
    department: str


@dataclass
class Goal:
    """One objective to create; `parent` is the key (index) of a goal planned before it."""

    key: int
    title: str
    level: ObjectiveLevel
    parent: int | None
    owner: str  # username
    department: str | None
    links: list[tuple[int, float]] = field(default_factory=list)  # (KPI key, weight)


@dataclass(frozen=True)
class Company:
    suffix: str
    name: str
    people: list[Person]
    goals: list[Goal]  # every parent before its children
    kpis: list[KpiPlan]

    def of_level(self, level: ObjectiveLevel) -> list[Goal]:
        return [g for g in self.goals if g.level is level]


def shape(size: int) -> tuple[int, int]:
    """(divisions, teams per division) for `size` objectives: about 6 x 8 teams of 20 people
    for 1,000, so that the tree a terminal shows stays around fifty lines."""
    root = math.sqrt(size)
    divisions = min(len(DIVISIONS), max(2, round(root / 5)))
    teams = max(1, round(root / 4))
    return divisions, teams


def plan(size: int, suffix: str, year: int, seed: int = 0) -> Company:
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE}")
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    divisions, teams_each = shape(size)
    people = _People(suffix, rng)
    ceo = people.add(Role.ADMIN, None, "ceo")
    people.add(Role.INTEGRATION, None, "hr-feed", full_name="HR system feed")
    name = f"Northwind {suffix.upper()}"
    company = Company(suffix, name, people.all, [], [])
    top = _goal(company, f"{name}: lead our market in {year}", ObjectiveLevel.COMPANY, None, ceo)
    individuals = size - 1 - divisions * (1 + teams_each)
    teams: list[tuple[Goal, Division, list[str], list[KpiPlan]]] = []
    for division in DIVISIONS[:divisions]:
        manager = people.add(Role.MANAGER, division.name)
        staff = [people.add(Role.EMPLOYEE, division.name) for _ in range(EMPLOYEES_PER_DIVISION)]
        head = _goal(
            company, f"{division.name}: {division.objective}", ObjectiveLevel.DIVISION, top.key,
            manager, division.name,
        )  # fmt: skip
        for n in range(teams_each):
            team = _team(company, division, n, head, manager, rng)
            teams.append((team, division, staff, company.kpis[-KPIS_PER_TEAM:]))
    for n in range(individuals):
        team, division, staff, kpis = teams[n % len(teams)]
        owner = staff[n // len(teams) % len(staff)]
        i = n // len(teams)  # the person's place in the team: people share their team's KPIs
        who = people.full_name(owner).split()[0]
        goal = _goal(
            company, f"{who}: {_personal_goal(division, i // len(staff))}",
            ObjectiveLevel.INDIVIDUAL, team.key, owner, team.department,
        )  # fmt: skip
        goal.links.append((kpis[i % len(kpis)].key, WEIGHTS[i % len(WEIGHTS)]))
        if i % 3 == 0:  # some people answer for two of their team's numbers
            goal.links.append((kpis[(i + 1) % len(kpis)].key, WEIGHTS[(i + 1) % len(WEIGHTS)]))
    return company


def _personal_goal(division: Division, turn: int) -> str:
    """A person's `turn`-th objective in a team: each of the division's goals once per quarter,
    so no one has the same objective twice."""
    goals = division.personal_goals
    return f"{goals[turn % len(goals)]} in Q{turn // len(goals) % 4 + 1}"


def _team(
    company: Company, division: Division, n: int, head: Goal, manager: str, rng: random.Random
) -> Goal:
    name = division.teams[n % len(division.teams)]
    if n >= len(division.teams):
        name = f"{name} {n // len(division.teams) + 1}"
    title = f"{name}: {division.team_goals[n % len(division.team_goals)]}"
    team = _goal(company, title, ObjectiveLevel.TEAM, head.key, manager, division.name)
    for template in division.kpis:
        title = f"{name}: {template.title}"
        company.kpis.append(_kpi(len(company.kpis), title, template, manager, division.name, rng))
    team.links.append((company.kpis[-KPIS_PER_TEAM].key, 1.0))  # the team's headline number
    return team


def _kpi(
    key: int, title: str, template: KpiTemplate, owner: str, department: str, rng: random.Random
) -> KpiPlan:
    """Each team's target differs a little from the division's, as real plans do."""
    target = template.target
    if template.direction in (Direction.INCREASE, Direction.DECREASE):
        spread = (template.target - template.baseline) * rng.uniform(-0.2, 0.2)
        target = round(template.target + spread, 1)
    return KpiPlan(
        key, title, template.unit, template.direction, template.baseline, target, owner, department
    )


def _goal(
    company: Company,
    title: str,
    level: ObjectiveLevel,
    parent: int | None,
    owner: str,
    department: str | None = None,
) -> Goal:
    goal = Goal(len(company.goals), title, level, parent, owner, department)
    company.goals.append(goal)
    return goal


class _People:
    def __init__(self, suffix: str, rng: random.Random) -> None:
        self.suffix = suffix
        self.rng = rng
        self.all: list[Person] = []

    def add(self, role: Role, department: str | None, handle: str = "", full_name: str = "") -> str:
        if not full_name:
            full_name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        base = handle or full_name.lower().replace(" ", ".")
        username = f"{base}.{len(self.all)}.{self.suffix}"
        self.all.append(Person(username, full_name, role, department))
        return username

    def full_name(self, username: str) -> str:
        return next(p.full_name for p in self.all if p.username == username)
