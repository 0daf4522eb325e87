"""One log format for every process: JSON lines for collectors (the default), or text for a
person at a terminal. Each record carries the current trace and span ids: the trace id is the
correlation id that follows a request through every service (see okr_shared.tracing)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from okr_shared.tracing import current_ids

_base_factory = logging.getLogRecordFactory()


def _record_with_trace(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.trace_id, record.span_id = current_ids()
    return record


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, instance: str) -> None:
        super().__init__()
        self.service = service
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "instance": self.instance,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", "")
        if trace_id:
            line["trace_id"] = trace_id
            line["span_id"] = getattr(record, "span_id", "")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        trace_id = getattr(record, "trace_id", "")
        return f"{text} [trace {trace_id}]" if trace_id else text


def install_trace_ids() -> None:
    """Give every log record `trace_id` and `span_id` (empty outside a span)."""
    if logging.getLogRecordFactory() is not _record_with_trace:
        logging.setLogRecordFactory(_record_with_trace)


def configure_logging(
    service: str, level: str = "INFO", *, log_format: str = "json", instance: str = ""
) -> None:
    install_trace_ids()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(service, instance or service)
        if log_format == "json"
        else TextFormatter(service)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream logs every message at INFO: far too much for a hot path.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("faststream.access.nats").setLevel(logging.WARNING)
