"""With `OTEL_EXPORTER_OTLP_ENDPOINT` set, a service sends its spans there (OTLP over HTTP), and
they continue the trace of the request that caused them; its log lines are JSON with that id."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nats
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from okr_shared import subjects
from okr_shared.contracts.endpoint import REFUSED
from tests.e2e.conftest import start
from tests.support.system import eventually


class Collector(ThreadingHTTPServer):
    """The smallest OTLP/HTTP receiver: keeps what is posted to /v1/traces."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.requests: list[ExportTraceServiceRequest] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[tuple[str, str, str]]:
        """(service.name, span name, trace id) of every span received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append(
                            (attributes.get("service.name", ""), span.name, span.trace_id.hex())
                        )
        return found


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.server.requests.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def test_a_service_exports_the_spans_of_a_request_to_the_configured_collector(
    own_world: tuple[str, str],
    tmp_path: Path,
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nats_url, database_url = own_world
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    log = tmp_path / "kpis.log"
    service = start("okr_kpis", nats_url, database_url, log)
    client = await nats.connect(nats_url)
    trace_id = secrets.token_hex(16)
    traceparent = {"traceparent": f"00-{trace_id}-{'2' * 16}-01"}

    async def answered() -> bool:
        with contextlib.suppress(Exception):
            reply = await client.request(
                subjects.rpc_ping("kpis"), b"{}", timeout=1, headers=traceparent
            )
            return REFUSED not in (reply.headers or {})
        return False

    try:
        await eventually(answered, timeout_s=30)
    finally:
        await client.close()
        service.send_signal(signal.SIGTERM)  # exporting what is left is part of a clean stop
        service.wait(timeout=30)

    assert ("okr-kpis", subjects.rpc_ping("kpis"), trace_id) in collector.spans()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines and all(line["service"] == "kpis" for line in lines)
