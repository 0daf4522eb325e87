"""What an HR system does, from the command line: publish a value, import a CSV, read back the
refused values."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from okr_cli import admin_api, hr
from okr_cli.admin_api import GATEWAY
from okr_cli.config import CliSettings
from okr_cli.ui import app, console, fail, nats_url
from okr_shared.contracts.kpis import KpiValueIn, Rejection
from okr_shared.private_files import redact_url
from okr_shared.settings import load_settings


@app.command("publish-kpi")
def publish_kpi(
    kpi_id: int = typer.Argument(..., min=1, help="The KPI's id."),
    value: float = typer.Argument(..., help="The value observed."),
    observed_at: datetime | None = typer.Option(
        None, help="When it was observed (ISO-8601; default now)."
    ),
    source: str | None = typer.Option(None, help="Where the value comes from."),
    key: str | None = typer.Option(None, help="Idempotency key (Nats-Msg-Id); default: a new one."),
) -> None:
    """Publish one KPI value on NATS, exactly as an HR system would."""
    settings = load_settings(CliSettings, "okr")
    try:
        body = KpiValueIn(value=value, observed_at=observed_at, source=source)
    except ValidationError as err:
        raise fail(f"not a value the KPIs service would take: {err.errors()[0]['msg']}") from None
    url = nats_url(settings, hr=True)
    try:
        sent = asyncio.run(hr.publish_value(url, kpi_id, body, key or str(uuid4())))
    except Exception as err:
        raise fail(
            f"could not publish to NATS at {redact_url(url)}: {err or type(err).__name__}"
        ) from None
    what = "already had it (a repeat)" if sent.duplicate else "stored it"
    console.print(
        f"published {value} on {sent.subject}: KPI_VALUES {what} at sequence "
        f"{sent.stream_seq} (key {sent.key})"
    )


@app.command("import-values")
def import_values(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: kpi_id,value,observed_at"
    ),
    batch_size: int = typer.Option(500, min=1, max=5000, help="Values per NATS message."),
) -> None:
    """Load a CSV of KPI values (columns kpi_id, value and optionally observed_at) over NATS, as
    batch messages. Importing the same file again stores nothing twice."""
    settings = load_settings(CliSettings, "okr")
    url = nats_url(settings, hr=True)
    try:
        total = sum(1 for _ in hr.read_rows(file))
        summary = asyncio.run(hr.import_values(url, file, batch_size, hr.file_key(file), total))
    except ValueError as err:
        raise fail(str(err)) from None
    except Exception as err:
        raise fail(
            f"could not publish to NATS at {redact_url(url)}: {err or type(err).__name__}"
        ) from None
    console.print(
        f"accepted {summary.accepted} rows in {summary.messages} messages; "
        f"rejected {len(summary.rejected)}"
    )
    for line, reason in summary.rejected[:20]:
        console.print(f"  line {line}: {reason}")
    if len(summary.rejected) > 20:
        console.print(f"  … and {len(summary.rejected) - 20} more")
    console.print(
        "Values the KPIs service refuses later (unknown or archived KPI, a timestamp in "
        "the future) are listed by `./okr rejections`."
    )
    if summary.rejected:
        raise typer.Exit(1)


@app.command()
def rejections(
    limit: int = typer.Option(20, min=1, max=1000, help="How many, newest first."),
    gateway: str | None = GATEWAY,
) -> None:
    """The values the KPIs service refused, with their reasons (the gateway's
    `GET /api/v1/ingest/rejections`, as the admin)."""
    answer = admin_api.call("GET", "/api/v1/ingest/rejections", gateway, params={"limit": limit})
    found = TypeAdapter(list[Rejection]).validate_python(answer)
    table = Table("seq", "rejected at", "subject", "reason", "payload")
    for r in found:
        table.add_row(
            str(r.sequence),
            r.rejected_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.subject,
            r.reason,
            hr.payload_preview(r.payload),
        )
    console.print(table)
    console.print(f"{len(found)} shown")
