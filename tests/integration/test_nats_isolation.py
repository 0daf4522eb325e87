"""An HR credential sees none of the services' traffic: the services (and every tool that acts
as them) take their replies under a private inbox prefix, and the `hr` user may subscribe only
to the default one, where its own JetStream acknowledgements arrive."""

from __future__ import annotations

import asyncio
import secrets

import nats

from okr_shared import subjects
from okr_shared.embedded import EmbeddedNats
from tests.support.system import RunningSystem


async def test_an_hr_credential_reads_no_reply_of_the_services(
    guarded: tuple[RunningSystem, EmbeddedNats],
) -> None:
    system, server = guarded
    refused: list[str] = []

    async def note(err: Exception) -> None:
        refused.append(str(err))

    hr = await nats.connect(server.url_for("hr"), error_cb=note)
    try:
        overheard = await hr.subscribe("_INBOX.>")
        await hr.flush()
        headers = system.admin_headers
        body = {"title": "Secret plan", "level": "company", "year": 2026, "quarter": "Q1"}
        created = await system.client.post("/api/v1/objectives", json=body, headers=headers)
        assert created.status_code == 201, created.text
        listed = await system.client.get("/api/v1/objectives", headers=headers)
        assert "Secret plan" in listed.text
        await asyncio.sleep(0.3)
        assert overheard.pending_msgs == 0, "an HR credential received a service's reply"

        # Nor can it answer in a service's place: the private inbox refuses its publishes.
        await hr.publish(f"{subjects.SERVICE_INBOX_PREFIX}.spoofed", b'{"ok": true}')
        await hr.subscribe(f"{subjects.SERVICE_INBOX_PREFIX}.>")
        await hr.flush()
        await asyncio.sleep(0.2)
        assert any("permissions violation for publish" in e.lower() for e in refused), refused
        assert any("permissions violation for subscription" in e.lower() for e in refused), refused
    finally:
        await hr.close()


async def test_an_hr_credential_may_not_listen_or_manage_streams(
    guarded: tuple[RunningSystem, EmbeddedNats],
) -> None:
    _, server = guarded
    refused: list[str] = []

    async def note(err: Exception) -> None:
        refused.append(str(err).lower())

    hr = await nats.connect(server.url_for("hr"), error_cb=note)
    try:
        for subject in (">", "rpc.>", "objective.>", "progress.>", "kpi.>", "$JS.API.>"):
            await hr.subscribe(subject)
        for api in ("STREAM.DELETE", "STREAM.PURGE", "CONSUMER.CREATE"):
            await hr.publish(f"$JS.API.{api}.KPI_VALUES", b"{}")
        await hr.flush()
        await asyncio.sleep(0.3)
    finally:
        await hr.close()
    for subject in (">", "rpc.>", "objective.>", "progress.>", "kpi.>", "$js.api.>"):
        assert f'subscription to "{subject}"' in " ".join(refused), subject
    for api in ("stream.delete", "stream.purge", "consumer.create"):
        assert f'publish to "$js.api.{api}.kpi_values"' in " ".join(refused), api
    service = await nats.connect(server.url_for("okr"))
    try:
        info = await service.jetstream().stream_info("KPI_VALUES")
        assert info.config.name == "KPI_VALUES"
    finally:
        await service.close()


async def test_an_integration_reads_nothing_but_its_own_acknowledgements(
    guarded: tuple[RunningSystem, EmbeddedNats],
) -> None:
    """With an integration's own NATS URL: every subject it might listen on or manage
    streams with is refused while the system serves REST and events, another integration's
    acknowledgements included, and it cannot answer in anyone's place."""
    system, _ = guarded
    mine, theirs = await create_integration(system), await create_integration(system)
    refused: list[str] = []

    async def note(err: Exception) -> None:
        refused.append(str(err).lower())

    me = await nats.connect(mine["nats_url"], inbox_prefix=mine["inbox_prefix"], error_cb=note)
    other = await nats.connect(theirs["nats_url"], inbox_prefix=theirs["inbox_prefix"])
    try:
        listening = [
            "_INBOX.>",
            ">",
            "rpc.>",
            "objective.>",
            "progress.>",
            "kpi.>",
            "$JS.API.>",
            f"{subjects.SERVICE_INBOX_PREFIX}.>",
            f"{theirs['inbox_prefix']}.>",
        ]
        overheard = [await me.subscribe(subject) for subject in listening]
        for api in ("STREAM.DELETE", "STREAM.PURGE", "CONSUMER.CREATE"):
            await me.publish(f"$JS.API.{api}.KPI_VALUES", b"{}")
        spoofed = [f"{theirs['inbox_prefix']}.x", f"{subjects.SERVICE_INBOX_PREFIX}.x"]
        for subject in spoofed:
            await me.publish(subject, b'{"stream": "KPI_VALUES", "seq": 1}')
        await me.flush()

        # Meanwhile the system serves REST and events, and the other integration publishes.
        headers = system.admin_headers
        body = {"title": "Secret plan", "level": "company", "year": 2026, "quarter": "Q1"}
        created = await system.client.post("/api/v1/objectives", json=body, headers=headers)
        assert created.status_code == 201, created.text
        kpi = await system.client.post(
            "/api/v1/kpis",
            json={"title": "Churn", "target_value": 5, "year": 2026},
            headers=headers,
        )
        kpi_id = kpi.json()["id"]
        theirs_ack = await other.jetstream().publish(
            f"{theirs['subject_prefix']}.{kpi_id}", b'{"value": 1}'
        )
        mine_ack = await me.jetstream().publish(
            f"{mine['subject_prefix']}.{kpi_id}", b'{"value": 2}'
        )
        assert (theirs_ack.stream, mine_ack.stream) == ("KPI_VALUES", "KPI_VALUES")
        await asyncio.sleep(0.3)
        assert [s.pending_msgs for s in overheard] == [0] * len(overheard)
    finally:
        await me.close()
        await other.close()
    said = " ".join(refused)
    for subject in listening:
        assert f'subscription to "{subject.lower()}"' in said, subject
    for api in ("stream.delete", "stream.purge", "consumer.create"):
        assert f'publish to "$js.api.{api}.kpi_values"' in said, api
    for subject in spoofed:
        assert f'publish to "{subject.lower()}"' in said, subject


async def create_integration(system: RunningSystem) -> dict[str, str]:
    response = await system.client.post(
        "/api/v1/integrations",
        json={"name": f"iso-{secrets.token_hex(3)}"},
        headers=system.admin_headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
