"""The gateway serves one AsyncAPI document for the whole system, made from what each service
really consumes and publishes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from okr_shared import subjects
from okr_shared.contracts import webhook_rpc
from tests.support.system import RunningSystem


def channels_at(document: dict[str, Any], address: str) -> list[dict[str, Any]]:
    return [c for c in document["channels"].values() if c["address"] == address]


def resolve(document: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def payload_of(document: dict[str, Any], channel: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The payload schema of the channel's one message, and the message's examples."""
    (message_ref,) = channel["messages"].values()
    message = resolve(document, message_ref["$ref"])
    return resolve(document, message["payload"]["$ref"]), message.get("examples")


async def test_the_ingestion_and_rollup_subjects_are_documented_with_schemas_and_examples(
    system: RunningSystem,
) -> None:
    response = await system.client.get("/asyncapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert "x-missing-services" not in document

    expected = {
        subjects.KPI_VALUE_ADDRESS: ("KpiValueIn", "value"),
        subjects.KPI_VALUE_BATCH: ("KpiBatchIn", "values"),
        subjects.PROGRESS_UPDATE_ADDRESS: ("ObjectiveProgressUpdated", "progress_percentage"),
        subjects.KPI_PROGRESS_CHANGED: ("KpiProgressChanged", "kpi_id"),
        subjects.OBJECTIVE_CREATED: ("ObjectiveCreated", "objective"),
    }
    for address, (model, required) in expected.items():
        found = channels_at(document, address)
        assert found, f"{address} is not in the document"
        for channel in found:
            schema, examples = payload_of(document, channel)
            assert schema["title"] == model
            assert required in schema["required"]
            assert examples and required in examples[0]["payload"]

    (ingested,) = [
        c for c in channels_at(document, subjects.KPI_VALUE_ADDRESS) if "kpis.receive" in str(c)
    ]
    assert "KPI_VALUES" in ingested["description"]
    assert "KPI_VALUES_DLQ" in ingested["description"]
    assert ingested["parameters"] == {"kpi_id": {"description": "the kpi's id"}}


async def test_every_side_of_a_subject_is_shown_once_per_service(system: RunningSystem) -> None:
    document = (await system.client.get("/asyncapi.json")).json()
    # progress publishes the rollups; objectives, the gateway and webhooks receive them.
    sides = sorted(
        operation["action"] + " " + operation["channel"]["$ref"].rsplit(":", 1)[-1]
        for operation in document["operations"].values()
        if resolve(document, operation["channel"]["$ref"])["address"]
        == subjects.PROGRESS_UPDATE_ADDRESS
    )
    assert sides == [
        "receive gateway.receive",
        "receive objectives.receive",
        "receive webhooks.receive",
        "send progress.send",
    ]
    # Every service answers rpc.ping; the channel is one.
    assert len(channels_at(document, subjects.RPC_PING_ALL)) == 1
    assert channels_at(document, subjects.RPC_KPIS_CREATE)
    # Public: says nothing of where a deployment's NATS runs, or with which credentials.
    assert "servers" not in document
    assert not any("servers" in channel for channel in document["channels"].values())


async def test_the_html_page_carries_the_document(system: RunningSystem) -> None:
    response = await system.client.get("/asyncapi")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # The viewer and the start-up file that renders the inlined document with it.
    assert '<script src="/docs-assets/asyncapi-react/index.js">' in response.text
    assert '<script src="/docs-assets/asyncapi-start.js">' in response.text
    inlined = response.text.split('id="asyncapi-document">', 1)[1].split("</script>", 1)[0]
    assert json.loads(inlined) == (await system.client.get("/asyncapi.json")).json()
    assert response.headers["content-security-policy"].startswith("sandbox allow-scripts;")


async def test_request_reply_subjects_show_their_request_and_result_models(
    system: RunningSystem,
) -> None:
    document = (await system.client.get("/asyncapi.json")).json()
    (channel,) = channels_at(document, subjects.RPC_KPIS_CREATE)
    (message_ref,) = channel["messages"].values()
    message = resolve(document, message_ref["$ref"])
    request = resolve(document, message["payload"]["$ref"])
    assert request["title"] == "CreateKpi" and "actor" in request["required"]
    reply = resolve(document, message["x-reply"]["payload"]["$ref"])
    assert reply["title"] == "KpiResponse" and "target_value" in reply["properties"]
    assert "Okr-Error" in message["x-reply"]["description"]
    assert "actor" in message["examples"][0]["payload"]
    assert "target_value" in message["x-reply"]["examples"][0]["payload"]
    assert "EmptyPayload" not in str(document)


async def test_a_declared_endpoint_shows_what_it_may_refuse(system: RunningSystem) -> None:
    document = (await system.client.get("/asyncapi.json")).json()
    (channel,) = channels_at(document, webhook_rpc.TEST.subject)
    (message_ref,) = channel["messages"].values()
    message = resolve(document, message_ref["$ref"])
    assert message["x-refuses"] == ["forbidden", "not_found"]
    reply = resolve(document, message["x-reply"]["payload"]["$ref"])
    assert reply["title"] == webhook_rpc.TEST.result.__name__


async def test_what_a_consumer_receives_is_declared_on_its_broker_and_never_started(
    system: RunningSystem,
) -> None:
    """The batch consumers are nats-py's: their channels are declared to the service's own
    broker after it started, and FastStream must not start them (a started one would take a
    copy of every message)."""
    receiving = {"kpis", "progress", "webhooks", "objectives"}
    for name, runtime in system.runtimes.items():
        declared = [
            s
            for s in runtime.broker.subscribers
            if any(title.endswith(f":{name}.receive") for title in s.schema())
        ]
        assert bool(declared) == (name in receiving), name
        assert not [s for s in declared if s.running], name
        serving = [s for s in runtime.broker.subscribers if s not in declared]
        assert serving and all(s.running for s in serving), name
