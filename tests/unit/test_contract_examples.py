"""Every example in an event or ingestion contract is a message its consumer would accept: the
AsyncAPI document shows them to integrators, so a wrong one would mislead."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.kpis import KpiBatchIn, KpiBatchItem, KpiValueIn
from okr_shared.contracts.objective_events import ObjectiveEvent
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.event_channels import channel_per_event

MODELS = [
    KpiValueIn,
    KpiBatchItem,
    KpiBatchIn,
    KpiProgressChanged,
    ObjectiveProgressUpdated,
    *(c.payload for c in channel_per_event(ObjectiveEvent, "")),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_example_validates_as_its_model(model: type) -> None:
    examples = TypeAdapter(model).json_schema().get("examples")
    assert examples, f"{model.__name__} has no example"
    for example in examples:
        assert type(TypeAdapter(model).validate_python(example)) is model


def test_objective_examples_are_read_as_their_own_event() -> None:
    """The union dispatches on `type`: each example must land on the model it illustrates."""
    adapter: TypeAdapter[object] = TypeAdapter(ObjectiveEvent)
    for channel in channel_per_event(ObjectiveEvent, ""):
        (example,) = TypeAdapter(channel.payload).json_schema()["examples"]
        assert type(adapter.validate_python(example)) is channel.payload
        assert example["type"] == channel.address
