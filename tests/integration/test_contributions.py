"""`GET /api/v1/objectives/{id}/contributions` through the whole system: the README's example,
abandoned children and KPIs without a value dropping out, a KPI linked twice, what a caller may
not see, and random worlds (hypothesis) whose effective weights sum to 1 and weigh the KPIs'
progress to the objective's own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.gateways import client_at, extra_gateway
from tests.support.kpis import make_kpi
from tests.support.objectives import make
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]
LEVELS = ["company", "division", "team", "individual"]


async def link(system: RunningSystem, objective_id: int, kpi_id: int, weight: float) -> None:
    response = await system.client.post(
        f"/api/v1/objectives/{objective_id}/kpis",
        json={"kpi_id": kpi_id, "weight": weight},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text


async def values(system: RunningSystem, amounts: dict[int, float]) -> None:
    items = [{"kpi_id": kpi_id, "value": value} for kpi_id, value in amounts.items()]
    response = await system.client.post(
        "/api/v1/kpis/values/batch", json={"values": items}, headers=system.admin_headers
    )
    assert response.status_code == 202, response.text


async def progress_of(system: RunningSystem, objective_id: int) -> float:
    response = await system.client.get(
        f"/api/v1/objectives/{objective_id}/progress", headers=system.admin_headers
    )
    return float(response.json()["progress_percentage"])


async def reaches(system: RunningSystem, objective_id: int, wanted: float) -> None:
    async def there() -> bool:
        response = await system.client.get(
            f"/api/v1/objectives/{objective_id}/progress", headers=system.admin_headers
        )
        # 404 while the progress service has yet to hear of the objective
        return response.status_code == 200 and (
            abs(response.json()["progress_percentage"] - wanted) < 1e-9
        )

    await eventually(there, timeout_s=10)


async def contributions(
    client: AsyncClient, objective_id: int, headers: dict[str, str]
) -> list[Json]:
    response = await client.get(f"/api/v1/objectives/{objective_id}/contributions", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["objective_id"] == objective_id
    items: list[Json] = body["items"]
    return items


def shape(items: list[Json]) -> list[tuple[Any, ...]]:
    return [
        (
            i["kind"],
            i["kpi_id"],
            i["objective_id"],
            i["path"],
            pytest.approx(i["effective_weight"], abs=1e-12),
            pytest.approx(i["contribution"], abs=1e-9),
        )
        for i in items
    ]


async def test_the_readme_example(system: RunningSystem) -> None:
    """A division with a team linking KPI A (weight 1, at 80 %) and KPI B (3 times as heavy, at
    40 %) and a KPI without a value, an abandoned team and a team at 70 %: 60 %, of which the
    team at 70 % gives 35 points, B 15 and A 10."""
    division = await make(system, title="Division", level="division")
    team = await make(system, title="Team", level="team", parent_id=division["id"])
    dropped = await make(
        system, title="Dropped", level="team", parent_id=division["id"], status="abandoned"
    )
    other = await make(
        system, title="Other", level="team", parent_id=division["id"], progress_percentage=70
    )
    a, b, silent, ignored = [await make_kpi(system) for _ in range(4)]
    await link(system, team["id"], a["id"], 0.25)
    await link(system, team["id"], b["id"], 0.75)  # weights of at most 1: 1 and 3 as 1/4, 3/4
    await link(system, team["id"], silent["id"], 1.0)
    await link(system, dropped["id"], ignored["id"], 1.0)
    await values(system, {a["id"]: 80, b["id"]: 40, ignored["id"]: 100})
    await reaches(system, division["id"], 60.0)

    items = await contributions(system.client, division["id"], system.admin_headers)

    d, t = division["id"], team["id"]
    assert shape(items) == [
        ("manual", None, other["id"], [d, other["id"]], 0.5, 35.0),
        ("kpi", b["id"], t, [d, t], 0.375, 15.0),
        ("kpi", a["id"], t, [d, t], 0.125, 10.0),
    ]
    assert [i["progress"] for i in items] == [70.0, 40.0, 80.0]


async def test_a_kpi_linked_twice_is_one_item_with_its_weights_summed(
    system: RunningSystem,
) -> None:
    company = await make(system, title="Company", level="company")
    near = await make(system, title="Near", level="division", parent_id=company["id"])
    far = await make(system, title="Far", level="division", parent_id=company["id"])
    team = await make(system, title="Team", level="team", parent_id=far["id"])
    shared, other = await make_kpi(system), await make_kpi(system)
    await link(system, near["id"], shared["id"], 0.5)
    await link(system, near["id"], other["id"], 0.5)
    await link(system, team["id"], shared["id"], 1.0)
    await values(system, {shared["id"]: 60, other["id"]: 20})
    await reaches(system, company["id"], (40 + 60) / 2)

    items = await contributions(system.client, company["id"], system.admin_headers)

    # Through Near: 1/2 x 1/2; through Far and Team: 1/2 x 1 x 1, the heavier path.
    c = company["id"]
    assert shape(items) == [
        ("kpi", shared["id"], team["id"], [c, far["id"], team["id"]], 0.75, 45.0),
        ("kpi", other["id"], near["id"], [c, near["id"]], 0.25, 5.0),
    ]


@pytest.fixture(params=["read model", "objectives service"])
async def gateway(
    request: pytest.FixtureRequest,
    system: RunningSystem,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[AsyncClient]:
    """The route checks what the caller sees with the gateway's read model, and asks the
    objectives service while the model is cold (here: a gateway without one)."""
    if request.param == "read model":
        yield system.client
        return
    tmp = tmp_path_factory.mktemp("plain-gateway")
    async with (
        extra_gateway(system, tmp, read_model=False) as plain,
        client_at(plain, "127.0.0.1") as client,
    ):
        yield client


async def test_what_the_caller_may_not_see_stays_hidden(
    system: RunningSystem, gateway: AsyncClient
) -> None:
    tag = secrets.token_hex(3)
    sales, finance = f"Sales-{tag}", f"Finance-{tag}"
    _, manager = await system.user("manager", department=sales)
    _, stranger = await system.user("employee", department=sales)
    team = await make(system, title="Team", level="team", department=sales)
    ours = await make(
        system, title="Ours", level="individual", parent_id=team["id"], department=sales
    )
    theirs = await make(
        system, title="Theirs", level="individual", parent_id=team["id"], department=finance
    )
    seen, unseen = await make_kpi(system), await make_kpi(system)
    await link(system, ours["id"], seen["id"], 1.0)
    await link(system, theirs["id"], unseen["id"], 1.0)
    await values(system, {seen["id"]: 30, unseen["id"]: 90})
    await reaches(system, team["id"], 60.0)

    items = await contributions(gateway, team["id"], manager)

    t = team["id"]
    assert shape(items) == [
        ("kpi", None, None, [t, None], 0.5, 45.0),
        ("kpi", seen["id"], ours["id"], [t, ours["id"]], 0.5, 15.0),
    ]
    path = f"/api/v1/objectives/{t}"
    refused = await gateway.get(f"{path}/contributions", headers=stranger)
    missing = await gateway.get("/api/v1/objectives/999999999/contributions", headers=manager)
    detail = await gateway.get(path, headers=stranger)
    assert (refused.status_code, missing.status_code, detail.status_code) == (404, 404, 404)
    assert refused.json()["detail"] == detail.json()["detail"] == f"objective {t} not found"


@st.composite
def worlds(draw: st.DrawFn) -> Json:
    """Up to 7 objectives under a company, some abandoned, each with manual progress, up to
    two links to 3 KPIs (each with a value or none)."""
    parents: list[int | None] = [None]
    for index in range(1, draw(st.integers(1, 7))):
        choices = [i for i in range(index) if draw_level(parents, i) < 3]
        parents.append(draw(st.sampled_from(choices)))
    return {
        "parents": parents,
        "abandoned": [False] + [draw(st.booleans()) for _ in parents[1:]],
        "manual": [draw(st.integers(0, 100)) for _ in parents],
        "links": [
            draw(
                st.lists(
                    st.tuples(st.integers(0, 2), st.sampled_from([0.25, 0.5, 1.0])),
                    max_size=2,
                    unique_by=lambda k: k[0],
                )
            )
            for _ in parents
        ],
        "values": [draw(st.one_of(st.none(), st.floats(0, 100))) for _ in range(3)],
    }


def draw_level(parents: list[int | None], index: int) -> int:
    depth, parent = 0, parents[index]
    while parent is not None:
        depth, parent = depth + 1, parents[parent]
    return depth


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
async def test_random_worlds_add_up(system: RunningSystem, world: Json) -> None:
    ids: list[int] = []
    for index, parent in enumerate(world["parents"]):
        created = await make(
            system,
            title=f"W{index}",
            level=LEVELS[draw_level(world["parents"], index)],
            parent_id=None if parent is None else ids[parent],
            progress_percentage=world["manual"][index],
            status="abandoned" if world["abandoned"][index] else "active",
        )
        ids.append(created["id"])
    kpis = [(await make_kpi(system))["id"] for _ in world["values"]]
    for index, linked in enumerate(world["links"]):
        for kpi, weight in linked:
            await link(system, ids[index], kpis[kpi], weight)
    given_values = {k: v for k, v in zip(kpis, world["values"], strict=True) if v is not None}
    if given_values:
        await values(system, given_values)
    await system.settled(timeout_s=20)

    response = await system.client.get(
        f"/api/v1/objectives/{ids[0]}/contributions", headers=system.admin_headers
    )
    body = response.json()
    items = body["items"]
    assert abs(sum(i["effective_weight"] for i in items) - 1) < 1e-9
    weighed = sum(i["effective_weight"] * i["progress"] for i in items)
    assert abs(weighed - body["progress_percentage"]) < 1e-9
    assert abs(body["progress_percentage"] - await progress_of(system, ids[0])) < 1e-9
    if all(i["kind"] == "kpi" for i in items):  # every counted leaf is driven by its KPIs
        assert {i["kpi_id"] for i in items} <= set(given_values)
