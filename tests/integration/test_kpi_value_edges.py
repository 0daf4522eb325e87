"""KPI values at the edges of time and of numbers are refused at once, with a reason: 422 on
REST, a dead letter on NATS (issue 13, a probe defect: a value observed in year 1 was accepted
with 202, then dead-lettered after 5 failed attempts with "can't compare offset-naive and
offset-aware datetimes")."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_shared import subjects
from tests.support.kpis import history, make_kpi
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]

# Year 1 in UTC is what asyncpg writes as PostgreSQL's -infinity and reads back as a naive
# datetime.min; with an offset east of UTC it is year 0, which Python cannot hold; 9999 and far
# futures are past any clock's skew.
BAD_TIMES = {
    "year 1": "0001-01-01T00:00:00Z",
    "year 1 east of UTC": "0001-01-01T00:30:00+01:00",
    "year 1 naive": "0001-01-01T00:00:00",
    "before 1900": "1899-12-31T23:59:59Z",
    "year 9999": "9999-12-31T23:59:59.999999Z",
    "year 9999 west of UTC": "9999-12-31T23:59:59-01:00",
    "next year": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
    "tomorrow": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
}
BAD_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")


@pytest.mark.parametrize("observed_at", BAD_TIMES.values(), ids=BAD_TIMES.keys())
async def test_rest_refuses_times_no_value_can_have(
    system: RunningSystem, observed_at: str
) -> None:
    target = await make_kpi(system)
    response = await system.client.post(
        f"/api/v1/kpis/{target['id']}/values",
        json={"value": 1, "observed_at": observed_at},
        headers=system.admin_headers,
    )
    assert response.status_code == 422, response.text
    assert "observed_at" in response.json()["detail"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
async def test_rest_refuses_numbers_that_are_not_finite(system: RunningSystem, number: str) -> None:
    target = await make_kpi(system)
    response = await system.client.post(
        f"/api/v1/kpis/{target['id']}/values",
        content=f'{{"value": {number}}}',
        headers={**system.admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text


async def test_the_oldest_and_newest_times_allowed_are_stored(system: RunningSystem) -> None:
    target = await make_kpi(system)
    for value, observed_at in (
        (1, "1900-01-01T00:00:00Z"),
        (2, datetime.now(UTC).isoformat()),
        (3, "1900-01-01T00:00:00"),  # naive: UTC
    ):
        response = await system.client.post(
            f"/api/v1/kpis/{target['id']}/values",
            json={"value": value, "observed_at": observed_at},
            headers=system.admin_headers,
        )
        assert response.status_code == 202, response.text

    async def stored() -> bool:
        return len(await history(system, target["id"])) == 3

    await eventually(stored)


async def test_the_batch_route_refuses_each_bad_time_on_its_own(system: RunningSystem) -> None:
    target = await make_kpi(system)
    values = [{"kpi_id": target["id"], "value": 5}] + [
        {"kpi_id": target["id"], "value": 1, "observed_at": t} for t in BAD_TIMES.values()
    ]
    response = await system.client.post(
        "/api/v1/kpis/values/batch", json={"values": values}, headers=system.admin_headers
    )
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (1, len(BAD_TIMES))
    for result in answer["results"][1:]:
        assert "observed_at" in result["reason"], result


async def test_nats_dead_letters_bad_times_at_once_with_a_reason(
    system: RunningSystem, hr: Any
) -> None:
    target = await make_kpi(system)
    tag = secrets.token_hex(4)
    subject = subjects.kpi_value_subject(target["id"])
    started = time.monotonic()
    for name, observed_at in BAD_TIMES.items():
        body = json.dumps({"value": 1, "observed_at": observed_at}).encode()
        await hr.publish(subject, body, headers={"Nats-Msg-Id": f"{tag}-{name}"})
    await hr.publish(subject, b'{"value": 7}', headers={"Nats-Msg-Id": f"{tag}-good"})

    async def all_rejected() -> list[Json] | None:
        response = await system.client.get(
            "/api/v1/ingest/rejections", params={"limit": 200}, headers=system.admin_headers
        )
        mine = [r for r in response.json() if (r["idempotency_key"] or "").startswith(tag)]
        return mine if len(mine) == len(BAD_TIMES) else None

    rejected = await eventually(all_rejected, timeout_s=20)
    # At once: not after the consumer's attempts and their pauses.
    assert time.monotonic() - started < 5
    for rejection in rejected:
        assert "failed" not in rejection["reason"], rejection
        assert "observed_at" in rejection["reason"], rejection
    assert [v["value"] for v in await history(system, target["id"])] == [7]


# Out of the years a moment may have at all (a window may well end tomorrow).
OUT_OF_BOUNDS = {k: v for k, v in BAD_TIMES.items() if k not in ("next year", "tomorrow")}


@pytest.mark.parametrize("moment", OUT_OF_BOUNDS.values(), ids=OUT_OF_BOUNDS.keys())
async def test_a_history_window_out_of_those_years_is_refused(
    system: RunningSystem, moment: str
) -> None:
    target = await make_kpi(system)
    for bound in ("from", "to"):
        response = await system.client.get(
            f"/api/v1/kpis/{target['id']}/values",
            params={bound: moment},
            headers=system.admin_headers,
        )
        assert response.status_code == 422, (bound, response.text)
