"""What every process counts, in the format Prometheus scrapes, on an HTTP port of its own.

The metrics port is separate from the gateway's API port: scrapers carry no user token, and the
figures (routes, subjects, lag) are for operators, so it listens on loopback unless told
otherwise. Names follow Prometheus's conventions: `_total` counters, `_seconds` histograms.

Subjects are counted by family (`kpi.values.*`, not `kpi.values.42`): a label per KPI id would
make a series per KPI, which no scraper can afford; and a token that is none of our words
counts as `*` too, so that no sender can add series at will.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter as Tally
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from okr_shared import subjects

log = logging.getLogger(__name__)

# Milliseconds matter here: rollups and requests take 1-50 ms when all is well.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)

HTTP_REQUESTS = Counter(
    "okr_http_requests", "HTTP requests answered, by route template", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "okr_http_request_duration_seconds",
    "Time to answer an HTTP request (streams: until the response starts)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
RPC_REQUESTS = Counter(
    "okr_rpc_requests", "Request/reply messages answered", ["subject", "outcome"]
)
RPC_LATENCY = Histogram(
    "okr_rpc_duration_seconds",
    "Time to answer a request/reply message",
    ["subject"],
    buckets=LATENCY_BUCKETS,
)
CONSUMED = Counter("okr_messages_consumed", "JetStream messages handled", ["subject"])
REDELIVERED = Counter(
    "okr_messages_redelivered", "JetStream messages delivered more than once", ["subject"]
)
DEAD_LETTERED = Counter(
    "okr_messages_dead_lettered", "Messages parked in a dead-letter stream", ["subject"]
)
PUBLISHED = Counter("okr_messages_published", "Events published to JetStream", ["subject"])
BATCH_SIZE = Histogram(
    "okr_consumer_batch_size",
    "Messages per batch a consumer handled",
    ["consumer"],
    buckets=BATCH_BUCKETS,
)
ROLLUP_LATENCY = Histogram(
    "okr_rollup_latency_seconds",
    "From the KPIs service storing a value to the rollup it moved being committed",
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_ATTEMPTS = Counter(
    "okr_webhook_attempts", "Webhook deliveries attempted, by outcome", ["outcome"]
)
WEBHOOK_ATTEMPT_LATENCY = Histogram(
    "okr_webhook_attempt_duration_seconds",
    "From sending a webhook to the receiver's answer (or the failure)",
    buckets=LATENCY_BUCKETS,
)
OUTBOX_BACKLOG = Gauge("okr_outbox_backlog", "Events committed and not yet published", ["schema"])
CONSUMER_PENDING = Gauge(
    "okr_consumer_pending",
    "Messages in the stream not yet delivered to the consumer",
    ["stream", "consumer"],
)
CONSUMER_UNACKNOWLEDGED = Gauge(
    "okr_consumer_unacknowledged",
    "Messages delivered and not yet acknowledged",
    ["stream", "consumer"],
)


# Every word our subjects are made of. Anything else in a subject (an HR system may publish on
# any `kpi.values.<token>`) is counted as `*`, so a sender cannot make a new series per message.
SUBJECT_WORDS = frozenset(
    token
    for name, value in vars(subjects).items()
    if name.isupper() and isinstance(value, str)
    for token in value.split(".")
    if token not in ("*", ">", "")
)
MAX_TOKENS = 4


@functools.lru_cache(maxsize=4096)
def subject_family(subject: str) -> str:
    """`progress.objective.17` → `progress.objective.*`: ids, and words no subject of ours
    has, become `*`; past four tokens, the rest is `>`."""
    tokens = subject.split(".")
    family = [token if token in SUBJECT_WORDS else "*" for token in tokens[:MAX_TOKENS]]
    return ".".join(family + ([">"] if len(tokens) > MAX_TOKENS else []))


def count_subjects(metric: Counter, names: Iterable[str]) -> None:
    """One increment per family, not per message: a batch of 500 costs a handful of calls."""
    for family, n in Tally(subject_family(name) for name in names).items():
        metric.labels(family).inc(n)


class MetricsServer:
    """`/metrics` on `host:port` from a thread; port 0 means no server at all."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str | None:
        """Where it is served; None when it is not (turned off, or its port was taken)."""
        return f"http://{self.host}:{self.port}/metrics" if self._server is not None else None

    def start(self) -> None:
        if not self.port:
            return
        try:
            self._server, self._thread = start_http_server(self.port, self.host)
        except OSError as err:
            # Metrics are for operators; a taken port must not keep the service from working.
            log.error(
                "metrics: cannot listen on %s:%d (%s); no /metrics", self.host, self.port, err
            )
            return
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    def stop(self) -> None:
        """Blocks up to half a second (the server's poll): call it from a thread in a loop."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
