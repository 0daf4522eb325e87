"""The chaos table: on the terminal, as Markdown for docs/RELIABILITY.md, and as JSON."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from okr_cli.chaos.verdict import Verdict

COLUMNS = (
    "scenario",
    "values sent",
    "owed",
    "accepted",
    "stored",
    "duplicates stored",
    "lost",
    "wrong values",
    "valid dead-lettered",
    "rollup mismatches",
    "recovery s",
    "result",
)


def _cells(v: Verdict) -> list[str]:
    recovery = "-" if v.recovery_s is None else f"{v.recovery_s:.1f}"
    return [
        v.scenario,
        f"{v.values_sent:,}",
        f"{v.owed:,}",
        f"{v.accepted:,}",
        f"{v.stored:,}",
        str(v.duplicates),
        str(v.lost),
        str(v.wrong_values),
        str(v.valid_dead_lettered),
        str(v.rollup_mismatches),
        recovery,
        "pass" if v.passed else "FAIL",
    ]


def table(verdicts: list[Verdict]) -> Table:
    shown = Table(title="okr chaos")
    shown.add_column(COLUMNS[0], no_wrap=True)
    for name in COLUMNS[1:]:
        shown.add_column(name, justify="right")
    for v in verdicts:
        shown.add_row(*_cells(v), style=None if v.passed else "red")
    return shown


def markdown(verdicts: list[Verdict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(v)) + " |" for v in verdicts]
    notes = [
        f"- **{v.scenario}**: {'; '.join(reasons)}"
        for v in verdicts
        if (reasons := v.notes + [f"FAILED: {rule}" for rule in v.broken_rules()])
    ]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def write_json(path: Path, verdicts: list[Verdict], quick: bool) -> None:
    document = {
        "quick": quick,
        "machine": {"python": platform.python_version(), "system": platform.platform()},
        "scenarios": [
            {**asdict(v), "broken_rules": v.broken_rules(), "passed": v.passed} for v in verdicts
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
