"""CPU time from /proc: where a request's cost goes, process by process (PostgreSQL's is its
postmaster's and its backends', its children), and how busy the whole machine was while a
latency was measured."""

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


class CpuShare:
    """The share of the machine's CPU time (all cores) that was busy since it was made: the
    load a latency was measured under."""

    def __init__(self) -> None:
        self.total, self.idle = _cpu_times()

    def since(self) -> float:
        total, idle = _cpu_times()
        spent = total - self.total
        return 100.0 * (1 - (idle - self.idle) / spent) if spent else 0.0


def _cpu_times() -> tuple[int, int]:
    """All CPU time and idle time (with I/O wait) so far, in ticks, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]
