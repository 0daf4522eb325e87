"""The benchmark's table, its JSON, and the verdict against the targets."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from okr_cli.bench.rollup import MIN_TIMED_SHARE, shortfall
from okr_cli.bench.targets import TARGETS

COUNTS = {
    "rollup_latency_timed",
    "rollup_latency_sent",
    "webhook_deliveries",
    "webhook_latency_timed",
    "webhook_latency_sent",
    "webhook_loaded_latency_timed",
    "webhook_loaded_latency_sent",
}  # shown without decimals


def table(figures: dict[str, float]) -> Table:
    result = Table("figure", "value", "target", "")
    for key, (sense, target) in TARGETS.items():
        value = figures.get(key)
        shown = "not measured" if value is None else f"{value:,.{0 if key in COUNTS else 1}f}"
        goal = "" if target is None else f"{sense} {target:,}"
        verdict = ""
        if value is not None and target is not None:
            met = value >= target if sense == ">=" else value <= target
            verdict = "[green]met[/green]" if met else "[red]missed[/red]"
        if key == "rollup_latency_timed" and "rollup_latency_sent" in figures:
            goal = f">= {MIN_TIMED_SHARE:.0%} of sent"
            verdict = "[red]missed[/red]" if shortfall(figures) else "[green]met[/green]"
        result.add_row(key, shown, goal, verdict)
    for key, value in figures.items():  # where a request's CPU time goes, process by process
        if key.startswith(("get_objective_cpu_ms[", "list_objectives_cpu_ms[")):
            result.add_row(escape(key), f"{value:,.2f}", "", "")
    return result


def write_json(
    path: Path, figures: dict[str, float], quick: bool, workers: int, parts: tuple[str, ...]
) -> None:
    document = {
        **{key: round(value, 3) for key, value in figures.items()},
        "run": {
            "quick": quick,
            "progress_workers": workers,
            "parts": list(parts),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
            "python": platform.python_version(),
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
