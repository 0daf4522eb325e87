"""Trace context: one trace id follows a request from the gateway, through NATS headers, into
every service it reaches, and into their log lines (it is the correlation id).

W3C `traceparent` travels in the headers of HTTP requests, request/reply messages, KPI values
published by the gateway, and events published by the outboxes. A batch of JetStream messages
is handled in one span: its parent is the first message's trace, and the others are linked.

Spans are always made, so that log lines carry ids; they are recorded and leave the process
only when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "SpanKind",
    "batch_span",
    "configure_tracing",
    "current_ids",
    "extract",
    "inject",
    "span",
]

TRACEPARENT = "traceparent"
MAX_LINKS = 32  # a batch of 500 links only its first 32 traces: enough to find them

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("okr")


def configure_tracing(
    service: str, instance: str, otlp_endpoint: str = "", *, processor: SpanProcessor | None = None
) -> None:
    """Once per process, before anything makes a span. `processor` is for tests.

    With nowhere to send spans, none is recorded: an unsampled span still has the ids that
    log lines and headers carry, at half the cost of a recorded one on every request."""
    exporting = bool(otlp_endpoint) or processor is not None
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"okr-{service}", "service.instance.id": instance}
        ),
        sampler=ParentBased(ALWAYS_ON) if exporting else ALWAYS_OFF,
    )
    if otlp_endpoint:
        # Imported only when wanted: the exporter brings protobuf and requests along.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Add the current trace's `traceparent` to `headers` (nothing outside a span)."""
    _propagator.inject(headers)
    return headers


def extract(headers: Mapping[str, str] | None) -> Context | None:
    if not headers or TRACEPARENT not in headers:
        return None
    return _propagator.extract(headers)


def current_ids() -> tuple[str, str]:
    """The current trace and span ids as hex, or two empty strings outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "", ""
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@contextlib.contextmanager
def span(
    name: str,
    headers: Mapping[str, str] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span that continues the trace in `headers`, if they carry one."""
    with _tracer.start_as_current_span(
        name, context=extract(headers), kind=kind, attributes=attributes
    ) as current:
        yield current


@contextlib.contextmanager
def batch_span(
    name: str, headers: Sequence[Mapping[str, str] | None], attributes: Mapping[str, str | int]
) -> Iterator[Span]:
    """One span for a batch: a child of the first traced message, linked to the others."""
    contexts: list[Context] = []
    for h in headers:  # most messages carry no trace: stop once enough are found
        found = extract(h)
        if found is not None:
            contexts.append(found)
            if len(contexts) > MAX_LINKS:
                break
    links = [
        Link(trace.get_current_span(c).get_span_context()) for c in contexts[1 : MAX_LINKS + 1]
    ]
    with _tracer.start_as_current_span(
        name,
        context=contexts[0] if contexts else None,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
    ) as current:
        yield current
