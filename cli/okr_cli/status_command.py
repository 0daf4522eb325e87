"""`okr status`: a table for a person at a terminal, whole aligned lines for a pipe, JSON for a
script, and an exit code that says whether everything is ready."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from okr_cli.config import CliSettings
from okr_cli.status_report import InstanceReport, StatusReport, gather
from okr_cli.ui import app, console, fail
from okr_shared.settings import load_settings

COLUMNS = (
    "service",
    "instance",
    "version",
    "host",
    "pid",
    "up for",
    "outbox",
    "metrics",
    "consumer lag",  # last: the only cell that may hold spaces, so `awk` can read the others
)
LEGEND = (
    "consumer lag: messages not yet delivered + delivered and not yet acknowledged; "
    "outbox: events committed and not yet published"
)


@app.command()
def status(
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document (the README describes it)."
    ),
) -> None:
    """Show NATS, PostgreSQL, the gateway's readiness, and each service instance that is ready
    (it answers a NATS ping) with its consumers' lag and outbox backlog. Exits 0 only when all of
    them are ready (at least one instance of each service), else 1 and says what is not."""
    settings = load_settings(CliSettings, "okr")
    report = asyncio.run(gather(settings))
    if as_json:
        print(report.model_dump_json(indent=2))  # not through Rich: it would wrap long lines
    if report.nothing_answers():
        raise fail(
            escape(
                f"nothing is running: neither NATS at {report.nats.url} nor the gateway at "
                f"{report.gateway.url} answers; start it with `./okr up`"
            )
        )
    if not as_json:
        show(report, console)
    if not report.ready:
        raise fail(escape("not ready: " + "; ".join(report.not_ready)))


def show(report: StatusReport, out: Console) -> None:
    """Never cut a value. A terminal wide enough gets a table; anything else gets aligned lines
    as long as their values: in a pipe Rich would take 80 columns and shorten cells, and a
    table folded into a narrow terminal breaks every URL into pieces."""
    for line, ok in component_lines(report):
        out.print(Text(line, style="" if ok else "red"), soft_wrap=True)
    rows = instance_rows(report, time.time())
    table = Table()
    for name in COLUMNS:
        table.add_column(name, overflow="fold")  # never "…", should the measure be wrong
    for row in rows:
        table.add_row(*row)
    unbounded = out.options.update_width(10_000)  # else the measure stops at the width
    if out.is_terminal and out.measure(table, options=unbounded).maximum <= out.width:
        out.print(table)
    else:
        flat = [[cell.replace("\n", ", ") for cell in row] for row in rows]
        for line in aligned([COLUMNS, *flat]):
            out.print(line, soft_wrap=True, markup=False)
    out.print(LEGEND, soft_wrap=True, markup=False)
    if report.ready:
        out.print(Text("all ready", style="green"))


def component_lines(report: StatusReport) -> list[tuple[str, bool]]:
    gateway_note = ", ".join(
        f"{name} {'ok' if ok else 'NOT ok'}" for name, ok in report.gateway.checks.items()
    )
    rows = [
        ("NATS", report.nats.ready, report.nats.url, report.nats.error),
        ("PostgreSQL", report.postgresql.ready, report.postgresql.url, report.postgresql.error),
        ("gateway", report.gateway.ready, report.gateway.url, gateway_note or report.gateway.error),
    ]
    cells = [
        (name, "ready" if ok else "NOT ready", url or "-", f"({note})" if note else "")
        for name, ok, url, note in rows
    ]
    return list(zip(aligned(cells), (ok for _, ok, _, _ in rows), strict=True))


def instance_rows(report: StatusReport, now: float) -> list[tuple[str, ...]]:
    return [
        (
            service,
            one.instance,
            one.version,
            one.host,
            str(one.pid),
            duration(now - one.started_at.timestamp()),
            outbox(one),
            one.metrics_url or "-",
            lag(one),
        )
        for service, found in report.services.items()
        for one in found.instances
    ]


def outbox(instance: InstanceReport) -> str:
    if instance.consumers is None:
        return "?"  # it did not answer rpc.status in time
    return "-" if instance.outbox_backlog is None else str(instance.outbox_backlog)


def lag(instance: InstanceReport) -> str:
    if instance.consumers is None:
        return "?"  # it did not answer rpc.status in time
    lines = [f"{c.durable} {c.pending}+{c.unacknowledged}" for c in instance.consumers]
    return "\n".join(lines) or "-"


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest value, two spaces apart, nothing cut."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
