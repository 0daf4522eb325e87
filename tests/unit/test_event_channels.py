"""Declared channels: which stream holds each, and an outbox held to what it declared."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from okr_shared import channels, subjects
from okr_shared.contracts.kpis import KpiValueIn
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.event_channels import Channel, Declared, document_consumed

ROLLUPS = Channel(subjects.PROGRESS_UPDATE_ADDRESS, ObjectiveProgressUpdated, "rollups")


def test_a_declared_address_matches_the_subjects_it_stands_for() -> None:
    declared = Declared([ROLLUPS])
    declared.check([subjects.progress_subject(42), subjects.progress_subject(7)])
    for stray in ("progress.objective.4.2", "progress.objective", subjects.OBJECTIVE_CREATED):
        with pytest.raises(ValueError, match="not a declared channel"):
            declared.check([stray])


def test_each_channel_knows_its_stream() -> None:
    assert ROLLUPS.stream is subjects.PROGRESS
    assert Channel(subjects.KPI_VALUE_ADDRESS, KpiValueIn, "").stream is subjects.KPI_VALUES
    assert ROLLUPS.parameters == ["objective_id"]
    with pytest.raises(ValueError, match="no stream"):
        _ = Channel("nowhere.at.all", KpiValueIn, "").stream


def test_a_consumer_that_decodes_with_a_function_must_say_what_it_accepts() -> None:
    with pytest.raises(TypeError, match="must list channels"):
        document_consumed(subjects.KPI_VALUES_SUBJECTS, lambda msg: msg, ())
    (derived,) = document_consumed(subjects.PROGRESS_UPDATES, ObjectiveProgressUpdated, ())
    assert derived.payload is ObjectiveProgressUpdated


def test_every_channel_is_declared_once_in_shared() -> None:
    """Services name okr_shared.channels; none declares a channel of its own, so no two places
    can describe one subject differently."""
    root = Path(__file__).resolve().parents[2]
    made_elsewhere = [
        f"{path.relative_to(root)}:{node.lineno}"
        for folder in ("services", "cli")
        for path in sorted((root / folder).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Channel"
    ]
    assert made_elsewhere == []
    declared = [value for value in vars(channels).values() if isinstance(value, Channel)] + list(
        channels.OBJECTIVE_EVENTS
    )
    addresses = [c.address for c in declared]
    assert len(addresses) == len(set(addresses)), addresses
