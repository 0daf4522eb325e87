"""Tracing with nowhere to export: spans are not recorded, yet have the ids logs and headers
carry. Run in a process of its own: OpenTelemetry takes one tracer provider per process, and
the tests' own records spans."""

from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = """
import json
from opentelemetry import trace
from okr_shared.tracing import configure_tracing, current_ids, inject, span
configure_tracing("kpis", "kpis-1")
with span("work"):
    trace_id, span_id = current_ids()
    print(json.dumps({
        "trace_id": trace_id,
        "recording": trace.get_current_span().is_recording(),
        "headers": inject({}),
    }))
"""


def test_without_an_exporter_spans_are_not_recorded_but_carry_ids() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    assert len(found["trace_id"]) == 32 and int(found["trace_id"], 16)
    assert found["recording"] is False
    assert found["headers"]["traceparent"].split("-")[1] == found["trace_id"]
