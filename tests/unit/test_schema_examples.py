"""Every request/reply subject's example, made from its schema, validates as its model."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import TypeAdapter

from okr_kpis.main import build as build_kpis
from okr_kpis.settings import KpisSettings
from okr_objectives.main import build as build_objectives
from okr_objectives.settings import ObjectivesSettings
from okr_progress.main import build as build_progress
from okr_progress.settings import ProgressSettings
from okr_shared import rpc
from okr_shared.schema_examples import example_of


def contracts() -> dict[str, rpc.RpcContract]:
    """Building the services registers their routes (nothing connects)."""
    build_objectives(ObjectivesSettings())
    build_kpis(KpisSettings())
    build_progress(ProgressSettings())
    return dict(rpc.CONTRACTS)


def roundtrip(annotation: object) -> None:
    adapter = TypeAdapter(cast(Any, annotation))
    schema = adapter.json_schema()
    adapter.validate_python(example_of(schema, schema.get("$defs", {})))


@pytest.mark.parametrize("subject", sorted(contracts()))
def test_the_example_of_each_request_and_result_is_valid(subject: str) -> None:
    contract = contracts()[subject]
    roundtrip(contract.request)
    roundtrip(contract.result)


def test_bounds_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "year": {"type": "integer", "minimum": 2000},
            "code": {"type": "string", "minLength": 6},
        },
    }
    assert example_of(schema, {}) == {"weight": 1.0, "year": 2000, "code": "textxx"}
