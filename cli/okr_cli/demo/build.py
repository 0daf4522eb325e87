"""Create a planned company in a running system, through the gateway's public API.

Users are created as the admin, signed in (creating a user is not rate-limited). The KPIs, and
then every objective with its KPI links in one import (`POST /api/v1/objectives/import`), are
created with an API key the demo makes for the admin and revokes when it is done. Every write
runs the use case any client's does (permission checks, audit entries, outbox events), so the
progress service learns the tree from the events, and nothing is written behind a service's
back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats.errors
from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from okr_cli import probe
from okr_cli.demo.company import Company, Goal, KpiPlan, Person
from okr_shared.contracts.kpis import Frequency

WRITES_IN_FLIGHT = 16  # what one objectives service process handles at once (okr_shared.rpc)
USERS_IN_FLIGHT = 4  # each costs the gateway a password hash
RATE_LIMITED = 429
IMPORT = "/api/v1/objectives/import"


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


KEY_SCOPES = ["objectives:read", "objectives:write", "kpis:read", "kpis:write"]
KEY_LIFETIME = timedelta(hours=1)  # revoked when the build ends; this bounds a demo killed mid-way


@dataclass(frozen=True)
class ApiKey:
    id: int
    key: str


async def admin_key(http: httpx.AsyncClient, password: str, suffix: str) -> ApiKey:
    """A key for the company's objectives and KPIs; `http` is signed in as the admin, whose
    `password` the gateway asks for again."""
    body = {
        "name": f"okr demo {suffix}",
        "scopes": KEY_SCOPES,
        "expires_at": (datetime.now(UTC) + KEY_LIFETIME).isoformat(),
        "current_password": password,
    }
    response = await http.post("/api/v1/api-keys", json=body)
    if response.status_code != 201:
        raise BuildFailed(f"making an API key answered {response.status_code}: {_detail(response)}")
    made = response.json()
    return ApiKey(int(made["id"]), made["key"])


@contextlib.asynccontextmanager
async def keyed(http: httpx.AsyncClient, key: ApiKey) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same gateway that carries `key`, which is revoked (through `http`) when
    the block ends, however it ends."""
    try:
        async with httpx.AsyncClient(
            base_url=http.base_url,
            timeout=http.timeout,
            headers={"Authorization": f"Bearer {key.key}"},
        ) as client:
            yield client
    finally:
        with contextlib.suppress(httpx.HTTPError):  # unreachable: it expires on its own
            await http.delete(f"/api/v1/api-keys/{key.id}")


class Builder:
    """Objectives, KPIs and links through the gateway; `http` carries an API key of an admin,
    and `on_done` is told of each one created."""

    def __init__(
        self, http: httpx.AsyncClient, built: Built, year: int, on_done: Callable[[], None]
    ) -> None:
        self.http = http
        self.built = built
        self.year = year
        self.on_done = on_done
        self.limit = asyncio.Semaphore(WRITES_IN_FLIGHT)

    async def build(self) -> None:
        """The KPIs first (the import names them), then every objective with its links in one
        import."""
        await together(self._kpi(k) for k in self.built.company.kpis)
        await self._import_objectives()

    async def post(self, path: str, body: Any, expect: int = 201) -> dict[str, Any]:
        return await self.send("POST", path, body, expect)

    async def send(self, method: str, path: str, body: Any, expect: int) -> dict[str, Any]:
        """The answer's JSON. A 429 waits as long as Retry-After says (a company bigger than
        a minute of the key's writes); any other refusal ends the build with its message."""
        while True:
            async with self.limit:
                try:
                    response = await self.http.request(method, path, json=body)
                except httpx.HTTPError as err:
                    raise BuildFailed(
                        f"{method} {path}: the gateway at {self.http.base_url} did not answer "
                        f"({err or type(err).__name__}); is the system still running? "
                        f"See `./okr status`"
                    ) from None
            if response.status_code != RATE_LIMITED:
                break
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        if response.status_code != expect:
            raise BuildFailed(
                f"{method} {path} answered {response.status_code}: {_detail(response)}"
            )
        self.on_done()
        answer: dict[str, Any] = response.json()
        return answer

    def _owner(self, username: str) -> int:
        return self.built.users[username]

    async def _import_objectives(self) -> None:
        """One POST /api/v1/objectives/import: a row per goal, keyed by the goal's key."""
        rows = [self._row(goal) for goal in self.built.company.goals]
        report = await self.post(IMPORT, rows)
        self.built.objectives.update({int(c["key"]): int(c["id"]) for c in report["created"]})
        self.built.links = int(report["links"])

    def _row(self, goal: Goal) -> dict[str, Any]:
        links = ";".join(f"{self.built.kpis[key]}:{weight}" for key, weight in goal.links)
        return {
            "key": str(goal.key),
            "title": goal.title,
            "level": goal.level.value,
            "parent": None if goal.parent is None else str(goal.parent),
            "owner": goal.owner,
            "department": goal.department,
            "year": self.year,
            "kpis": links,
        }

    async def _kpi(self, kpi: KpiPlan) -> None:
        body = {
            "title": kpi.title,
            "owner_id": self._owner(kpi.owner),
            "department": kpi.department,
            "unit": kpi.unit,
            "direction": kpi.direction.value,
            "baseline_value": kpi.baseline,
            "target_value": kpi.target,
            "year": self.year,
            "frequency": Frequency.WEEKLY.value,
        }
        created = await self.post("/api/v1/kpis", body)
        self.built.kpis[kpi.key] = int(created["id"])


def _detail(response: httpx.Response) -> str:
    """The gateway's own message (`detail`), else the start of the body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:200]


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
