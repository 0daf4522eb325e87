"""Spans of the in-process system, kept only while a test asks for them.

The tests' process has one tracer provider (OpenTelemetry allows one per process), set up here
exactly as a service sets up its own, with this recorder in place of an OTLP exporter."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from okr_shared.logs import install_trace_ids
from okr_shared.tracing import configure_tracing


class SpanRecorder(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] | None = None  # None: not recording

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self.spans is not None:
            self.spans.append(span)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[ReadableSpan]]:
        self.spans = []
        try:
            yield self.spans
        finally:
            self.spans = None

    def shutdown(self) -> None:
        self.spans = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


SPANS = SpanRecorder()


def install() -> None:
    configure_tracing("tests", "tests", processor=SPANS)
    install_trace_ids()
