"""KPI values over NATS: stored once, late ones kept back, bad ones dead-lettered."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import nats

from okr_shared import subjects
from tests.support.kpis import history, kpi, make_kpi
from tests.support.system import RunningSystem, eventually

Json = dict[str, Any]


async def test_values_over_nats_move_the_kpi_and_publish_progress(
    system: RunningSystem, hr: Any
) -> None:
    target = await make_kpi(system, baseline_value=0, target_value=200)
    subject = subjects.kpi_value_subject(target["id"])
    now = datetime.now(UTC)
    await hr.publish(
        subject,
        json.dumps(
            {"value": 50, "observed_at": (now - timedelta(hours=2)).isoformat(), "source": "hris"}
        ).encode(),
        headers={"Nats-Msg-Id": "k1"},
    )
    await hr.publish(
        subject,
        json.dumps({"value": 150, "observed_at": (now - timedelta(hours=1)).isoformat()}).encode(),
        headers={"Nats-Msg-Id": "k2"},
    )

    async def moved() -> bool:
        return (await kpi(system, target["id"]))["current_value"] == 150

    await eventually(moved)
    current = await kpi(system, target["id"])
    assert current["progress_percentage"] == 75.0
    values = await history(system, target["id"])
    assert [v["value"] for v in values] == [150, 50]  # newest first
    assert (values[1]["source"], values[1]["source_label"]) == ("hr", "hris")

    events = await hr.pull_subscribe(subjects.KPI_PROGRESS_CHANGED, stream="KPI_EVENTS")
    seen: list[Json] = []

    async def published() -> bool:
        try:
            seen.extend(json.loads(m.data) for m in await events.fetch(100, timeout=0.3))
        except nats.errors.TimeoutError:
            pass
        return any(e["kpi_id"] == target["id"] and e["value"] == 150 for e in seen)

    await eventually(published)
    event = next(e for e in seen if e["kpi_id"] == target["id"] and e["value"] == 150)
    assert (event["progress"], event["version"], event["active"]) == (
        75.0,
        current["version"],
        True,
    )


async def test_duplicates_are_stored_once_and_late_values_do_not_move_the_kpi(
    system: RunningSystem, hr: Any
) -> None:
    target = await make_kpi(system)
    subject = subjects.kpi_value_subject(target["id"])
    now = datetime.now(UTC)
    body = json.dumps({"value": 40, "observed_at": now.isoformat()}).encode()
    await hr.publish(subject, body, headers={"Nats-Msg-Id": "same-key"})
    await hr.publish(subject, body, headers={"Nats-Msg-Id": "same-key"})  # dropped by JetStream
    # The same key again, in a batch message, long "after" the stream's duplicate window:
    late_copy = {
        "values": [
            {
                "kpi_id": target["id"],
                "value": 40,
                "idempotency_key": "same-key",
                "observed_at": now.isoformat(),
            }
        ]
    }
    await hr.publish(
        subjects.KPI_VALUE_BATCH,
        json.dumps(late_copy).encode(),
        headers={"Nats-Msg-Id": secrets.token_hex(8)},
    )
    older = {"value": 10, "observed_at": (now - timedelta(days=1)).isoformat()}
    await hr.publish(subject, json.dumps(older).encode(), headers={"Nats-Msg-Id": "older"})

    async def stored() -> bool:
        return len(await history(system, target["id"])) == 2

    await eventually(stored)
    assert sorted(v["value"] for v in await history(system, target["id"])) == [10, 40]
    current = await kpi(system, target["id"])
    assert current["current_value"] == 40  # the older value went to history only
    assert current["progress_percentage"] == 40.0


async def test_bad_input_goes_to_the_dead_letter_stream_and_good_values_around_it_are_stored(
    system: RunningSystem, hr: Any
) -> None:
    good = await make_kpi(system)
    archived = await make_kpi(system)
    await system.client.delete(f"/api/v1/kpis/{archived['id']}", headers=system.admin_headers)
    tag = secrets.token_hex(4)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cases = {
        f"{tag}-json": (subjects.kpi_value_subject(good["id"]), b"{not json", "invalid payload"),
        f"{tag}-unknown": (
            subjects.kpi_value_subject(987654321),
            b'{"value": 1}',
            "unknown KPI 987654321",
        ),
        f"{tag}-archived": (
            subjects.kpi_value_subject(archived["id"]),
            b'{"value": 1}',
            f"KPI {archived['id']} is archived",
        ),
        f"{tag}-text": (
            subjects.kpi_value_subject(good["id"]),
            b'{"value": "lots"}',
            "invalid payload",
        ),
        f"{tag}-nan": (
            subjects.kpi_value_subject(good["id"]),
            b'{"value": NaN}',
            "invalid payload",
        ),
        f"{tag}-future": (
            subjects.kpi_value_subject(good["id"]),
            json.dumps({"value": 1, "observed_at": future}).encode(),
            "in the future",
        ),
        f"{tag}-subject": ("kpi.values.abc", b'{"value": 1}', "the subject must be"),
    }
    await hr.publish(
        subjects.kpi_value_subject(good["id"]),
        b'{"value": 11}',
        headers={"Nats-Msg-Id": f"{tag}-ok1"},
    )
    for key, (subject, body, _) in cases.items():
        await hr.publish(subject, body, headers={"Nats-Msg-Id": key})
    batch = {
        "values": [
            {"kpi_id": good["id"], "value": 12, "idempotency_key": f"{tag}-ok2"},
            {"kpi_id": 987654322, "value": 1, "idempotency_key": f"{tag}-batch-unknown"},
        ]
    }
    await hr.publish(
        subjects.KPI_VALUE_BATCH,
        json.dumps(batch).encode(),
        headers={"Nats-Msg-Id": f"{tag}-batch"},
    )

    async def good_ones_stored() -> bool:
        return sorted(v["value"] for v in await history(system, good["id"])) == [11, 12]

    await eventually(good_ones_stored)

    async def all_rejected() -> list[Json] | None:
        response = await system.client.get(
            "/api/v1/ingest/rejections", params={"limit": 200}, headers=system.admin_headers
        )
        mine = [r for r in response.json() if (r["idempotency_key"] or "").startswith(tag)]
        return mine if len(mine) == len(cases) + 1 else None

    rejected = {r["idempotency_key"]: r for r in await eventually(all_rejected)}
    for key, (subject, body, reason) in cases.items():
        assert reason in rejected[key]["reason"], (key, rejected[key])
        assert rejected[key]["payload"] == body.decode()
        assert rejected[key]["subject"] == subject
    assert "unknown KPI 987654322" in rejected[f"{tag}-batch:1"]["reason"]
    assert json.loads(rejected[f"{tag}-batch:1"]["payload"])["kpi_id"] == 987654322


async def test_list_filters_and_history_window(system: RunningSystem, hr: Any) -> None:
    dept = f"F-{secrets.token_hex(2)}"
    first = await make_kpi(system, department=dept, quarter="Q1")
    second = await make_kpi(system, department=dept, quarter="Q2")
    await system.client.delete(f"/api/v1/kpis/{second['id']}", headers=system.admin_headers)
    listed = await system.client.get(
        "/api/v1/kpis", params={"department": dept}, headers=system.admin_headers
    )
    assert (listed.json()["total"], [k["id"] for k in listed.json()["items"]]) == (
        2,
        [first["id"], second["id"]],
    )
    active = await system.client.get(
        "/api/v1/kpis",
        params={"department": dept, "status": "active"},
        headers=system.admin_headers,
    )
    assert [k["id"] for k in active.json()["items"]] == [first["id"]]
    q2 = await system.client.get(
        "/api/v1/kpis", params={"department": dept, "quarter": "Q2"}, headers=system.admin_headers
    )
    assert [k["id"] for k in q2.json()["items"]] == [second["id"]]

    base = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(5):
        body = {"value": day, "observed_at": (base + timedelta(days=day)).isoformat()}
        await hr.publish(subjects.kpi_value_subject(first["id"]), json.dumps(body).encode())

    async def all_in() -> bool:
        return len(await history(system, first["id"])) == 5

    await eventually(all_in)
    window = await system.client.get(
        f"/api/v1/kpis/{first['id']}/values",
        params={
            "from": (base + timedelta(days=1)).isoformat(),
            "to": (base + timedelta(days=3)).isoformat(),
            "limit": 2,
        },
        headers=system.admin_headers,
    )
    assert [v["value"] for v in window.json()] == [3, 2]  # newest first, within the window, limited
