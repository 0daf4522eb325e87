"""Create a planned company in a running system.

Users go through the HTTP API as the admin (the gateway owns them; creating a user is not
rate-limited). Objectives, KPIs and links go to the services' own request subjects on NATS, with
the services' NATS user, acting as the company's demo admin, exactly as the gateway would send
them: the gateway limits writes to OKR_GATEWAY_WRITES_PER_MINUTE (60) per user, so 2,500
writes through it would take most of an hour. The services still run every use case (permission
checks, audit entries, outbox events), so the progress service learns the tree from the events
as it does for any change, and nothing is written behind a service's back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import nats.errors
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from pydantic import BaseModel

from okr_cli import probe
from okr_cli.demo.company import Company, Goal, KpiPlan, Person
from okr_shared import rpc
from okr_shared.contracts import kpi_rpc, objective_rpc
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.endpoint import RpcEndpoint
from okr_shared.contracts.kpi_rpc import CreateKpi
from okr_shared.contracts.kpis import Frequency, KpiCreate
from okr_shared.contracts.objective_rpc import CreateObjective, LinkKpi
from okr_shared.contracts.objectives import (
    ObjectiveCreate,
    ObjectiveKPILinkCreate,
    ObjectiveLevel,
)
from okr_shared.errors import OkrError

# Requests in flight: what one service process handles at once (okr_shared.rpc).
IN_FLIGHT = rpc.CONCURRENT_REQUESTS
USERS_IN_FLIGHT = 4  # each costs the gateway a password hash
RPC_TIMEOUT_S = 30.0
T = TypeVar("T")
Req = TypeVar("Req", bound=BaseModel)


class BuildFailed(RuntimeError):
    """The system refused part of the company: the message says what and why."""


async def together(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run them all at once. The first failure cancels the others and is raised as itself once
    they have stopped (not in an ExceptionGroup: it reaches the user as one line), and a
    cancellation of the caller reaches every one: none goes on after this returns or raises."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as failed:
        raise _first(failed) from None


def _first(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    inner = failed.exceptions[0]
    return _first(inner) if isinstance(inner, BaseExceptionGroup) else inner


@dataclass
class Built:
    company: Company
    users: dict[str, int] = field(default_factory=dict)  # username -> id
    objectives: dict[int, int] = field(default_factory=dict)  # goal key -> objective id
    kpis: dict[int, int] = field(default_factory=dict)  # KPI key -> KPI id
    links: int = 0


async def create_users(
    http: httpx.AsyncClient, people: list[Person], password: str, built: Built
) -> None:
    """`http` is signed in as an admin."""
    limit = asyncio.Semaphore(USERS_IN_FLIGHT)

    async def create(person: Person) -> None:
        body = {
            "username": person.username,
            "password": password,
            "full_name": person.full_name,
            "role": person.role.value,
            "department": person.department,
        }
        try:
            async with limit:
                response = await http.post("/api/v1/users", json=body)
        except httpx.HTTPError as err:
            raise BuildFailed(
                f"creating user {person.username}: the gateway at {http.base_url} did not "
                f"answer ({err or type(err).__name__}); is the system still running? "
                f"See `./okr status`"
            ) from None
        if response.status_code != 201:
            raise BuildFailed(
                f"creating user {person.username} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        built.users[person.username] = int(response.json()["id"])

    await together(create(p) for p in people)


class Builder:
    """Objectives, KPIs and links over NATS; `on_done` is told of each one created."""

    def __init__(
        self, broker: NatsBroker, built: Built, year: int, on_done: Callable[[], None]
    ) -> None:
        self.broker = broker
        self.built = built
        self.year = year
        self.on_done = on_done
        self.people = {p.username: p for p in built.company.people}
        ceo = next(p for p in built.company.people if p.role is Role.ADMIN)
        self.actor = Actor(user_id=built.users[ceo.username], role=Role.ADMIN)
        self.limit = asyncio.Semaphore(IN_FLIGHT)

    async def build(self) -> None:
        company = self.built.company
        await together([self._objectives(), self._kpis()])  # KPIs alongside the objectives
        await together(self._link(g, k, w) for g in company.goals for k, w in g.links)

    async def _objectives(self) -> None:
        for level in ObjectiveLevel:  # parents before children
            await together(self._objective(g) for g in self.built.company.of_level(level))

    async def _kpis(self) -> None:
        await together(self._kpi(k) for k in self.built.company.kpis)

    async def _ask(self, endpoint: RpcEndpoint[Req, T], request: Req) -> T:
        async with self.limit:
            try:
                answer = await rpc.ask(self.broker, endpoint, request, timeout=RPC_TIMEOUT_S)
            except OkrError as err:
                raise BuildFailed(f"{endpoint.subject} refused: {err.message}") from None
        self.on_done()
        return answer

    def _owner(self, username: str) -> tuple[int, str | None]:
        return self.built.users[username], self.people[username].department

    async def _objective(self, goal: Goal) -> None:
        owner_id, department = self._owner(goal.owner)
        parent = None if goal.parent is None else self.built.objectives[goal.parent]
        data = ObjectiveCreate(
            title=goal.title,
            level=goal.level,
            parent_id=parent,
            owner_id=owner_id,
            department=goal.department,
            year=self.year,
        )
        request = CreateObjective(
            actor=self.actor, data=data, owner_id=owner_id, owner_department=department
        )
        created = await self._ask(objective_rpc.CREATE, request)
        self.built.objectives[goal.key] = created.result.id

    async def _kpi(self, kpi: KpiPlan) -> None:
        owner_id, department = self._owner(kpi.owner)
        data = KpiCreate(
            title=kpi.title,
            owner_id=owner_id,
            department=kpi.department,
            unit=kpi.unit,
            direction=kpi.direction,
            baseline_value=kpi.baseline,
            target_value=kpi.target,
            year=self.year,
            frequency=Frequency.WEEKLY,
        )
        request = CreateKpi(
            actor=self.actor, data=data, owner_id=owner_id, owner_department=department
        )
        created = await self._ask(kpi_rpc.CREATE, request)
        self.built.kpis[kpi.key] = created.id

    async def _link(self, goal: Goal, kpi_key: int, weight: float) -> None:
        request = LinkKpi(
            actor=self.actor,
            objective_id=self.built.objectives[goal.key],
            link=ObjectiveKPILinkCreate(kpi_id=self.built.kpis[kpi_key], weight=weight),
        )
        await self._ask(objective_rpc.LINK_KPI, request)
        self.built.links += 1


async def until_rollup_knows_it(broker: NatsBroker, timeout_s: float) -> None:
    """Until every consumer has caught up, so the progress service knows every link before the
    first value arrives (else the first rollups would look slow)."""
    js = broker.connection.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await _caught_up(js):
        if asyncio.get_running_loop().time() > deadline:
            raise BuildFailed(
                f"the company is created, but the services had not worked through its events "
                f"within {timeout_s:.0f} s; see `./okr status` and the services' logs, or try "
                f"a smaller --size"
            )
        await asyncio.sleep(0.1)


async def _caught_up(js: JetStreamContext) -> bool:
    try:
        return await probe.consumers_caught_up(js)
    except nats.errors.Error as err:  # a consumer missing, or NATS gone
        raise BuildFailed(
            f"could not read the services' progress through their events from NATS "
            f"({err or type(err).__name__}); see `./okr status`"
        ) from None
