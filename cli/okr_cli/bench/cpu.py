"""CPU time that processes spend, from /proc: where a request's cost goes, process by process.
PostgreSQL's is its postmaster's and its backends' (its children)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, children: bool) -> float:
    """user + system time of `pid`, and of its direct children if asked."""
    if not children:
        fields = _stat(pid)
        return (int(fields[11]) + int(fields[12])) / TICKS
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except OSError:  # gone meanwhile
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid, children=name == "postgres") for name, pid in pids.items()}


def per_request_ms(
    before: dict[str, float], after: dict[str, float], requests: float
) -> dict[str, float]:
    return {name: (after[name] - before[name]) * 1000 / requests for name in before}
