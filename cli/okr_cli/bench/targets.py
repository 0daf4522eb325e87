"""What the benchmark measures, each figure with its target, and the parts it can run alone."""

from __future__ import annotations

TARGETS = {
    "ingest_single_values_per_s": (">=", 5000),
    "ingest_batch_values_per_s": (">=", 50000),
    "history_rows_per_value": ("<=", None),  # progress history points per value (single)
    "history_rows_per_value_batch": ("<=", None),
    "rollup_latency_p50_ms": ("<=", None),
    "rollup_latency_p99_ms": ("<=", 50),
    "rollup_latency_timed": (">=", None),  # of the values sent: at least 99 % (rollup.py)
    "rollup_latency_sent": (">=", None),
    "tree_view_11k_ms": ("<=", 50),
    "tree_view_111k_ms": ("<=", 500),
    "get_objective_rps": (">=", 1500),
    "get_objective_p99_ms": ("<=", 15),
    "ancestors_p99_ms": ("<=", 5),
    "list_objectives_rps": (">=", None),  # answered by the objectives service (request/reply)
    "list_objectives_p99_ms": ("<=", None),
    "import_objectives_per_s": (">=", None),  # the 111k tree, 10,000 rows an import
    "close_period_111k_s": ("<=", None),  # the request: grades and freezes 111,111
    "close_period_111k_settled_s": ("<=", None),  # until every service has taken its events
    "reopen_period_111k_s": ("<=", None),
    "reopen_period_111k_settled_s": ("<=", None),  # includes recomputing the whole tree
    "read_model_warm_s": ("<=", None),
    "read_model_mb_per_100k": ("<=", None),
    "startup_to_ready_s": ("<=", 10),
    "nats_pull_raw_msgs_per_s": (">=", None),
    "pg_commit_raw_per_s": (">=", None),
    "webhook_deliveries_per_s": (">=", 1000),
    "webhook_deliveries": (">=", None),
    "webhook_latency_p50_ms": ("<=", None),
    "webhook_latency_p99_ms": ("<=", 100),
    "webhook_stage_p50_ms": ("<=", None),
    "webhook_stage_p99_ms": ("<=", None),
    "webhook_latency_timed": (">=", None),
    "webhook_latency_sent": (">=", None),
    "webhook_latency_cpu_busy_pct": ("<=", None),
    "webhook_loaded_latency_p50_ms": ("<=", None),
    "webhook_loaded_latency_p99_ms": ("<=", None),
    "webhook_loaded_latency_timed": (">=", None),
    "webhook_loaded_latency_sent": (">=", None),
    "webhook_loaded_latency_cpu_busy_pct": ("<=", None),
}
PARTS = ("ingest", "latency", "reads", "webhooks")
