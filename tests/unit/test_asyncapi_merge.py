"""Merging the services' AsyncAPI documents: identical parts once, clashing keys kept apart."""

from __future__ import annotations

from typing import Any

from okr_gateway.asyncapi import merge


def document(channel_description: str, schema_type: str) -> dict[str, Any]:
    return {
        "channels": {
            "rpc.ping": {"address": "rpc.ping", "messages": {}},
            "x:ch": {
                "address": "x",
                "description": channel_description,
                "messages": {"M": {"$ref": "#/components/messages/x:ch:M"}},
            },
        },
        "operations": {"x:ch": {"action": "send", "channel": {"$ref": "#/channels/x:ch"}}},
        "components": {
            "messages": {
                "x:ch:M": {"title": "x:ch:M", "payload": {"$ref": "#/components/schemas/P"}}
            },
            "schemas": {"P": {"type": schema_type}},
        },
    }


def test_identical_parts_appear_once() -> None:
    merged = merge([("a", document("d", "object")), ("b", document("d", "object"))], [])
    assert list(merged["channels"]) == ["rpc.ping", "x:ch"]
    assert list(merged["components"]["schemas"]) == ["P"]
    assert "x-missing-services" not in merged


def test_a_clashing_schema_is_renamed_and_so_is_all_that_refers_to_it() -> None:
    merged = merge([("a", document("d", "object")), ("b", document("d", "string"))], [])
    assert merged["components"]["schemas"] == {"P": {"type": "object"}, "P:b": {"type": "string"}}
    renamed = merged["components"]["messages"]["x:ch:M:b"]
    assert renamed["payload"] == {"$ref": "#/components/schemas/P:b"}
    # The message changed, so its channel and operation did too, each kept under a new key.
    assert merged["channels"]["x:ch:b"]["messages"]["M"] == {
        "$ref": "#/components/messages/x:ch:M:b"
    }
    assert merged["operations"]["x:ch:b"]["channel"] == {"$ref": "#/channels/x:ch:b"}
    assert merged["operations"]["x:ch"]["channel"] == {"$ref": "#/channels/x:ch"}
    assert list(merged["channels"]) == ["rpc.ping", "x:ch", "x:ch:b"]


def test_a_service_that_did_not_answer_is_named() -> None:
    merged = merge([("gateway", document("d", "object"))], ["kpis"])
    assert merged["x-missing-services"] == ["kpis"]
    assert "kpis" in merged["info"]["description"]
