"""What operators run: the benchmark, the chaos scenarios, a rebuild of the rollup."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import typer

from okr_cli.config import CliSettings
from okr_cli.supervisor import StartFailed
from okr_cli.ui import app, console, fail, nats_url
from okr_shared import subjects
from okr_shared.contracts.endpoint import REFUSED
from okr_shared.contracts.progress import RebuildReport
from okr_shared.embedded import EmbeddedServerError
from okr_shared.errors import OkrError, error_from_dict
from okr_shared.private_files import redact_url
from okr_shared.settings import load_settings


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="A shorter run (under 3 minutes)."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the figures here."),
    progress_workers: int = typer.Option(
        1, "--progress-workers", min=1, max=8, help="Progress workers (1, as in okr up)."
    ),
    part: list[str] = typer.Option(
        [],
        "--part",
        "-p",
        help="Measure only these (repeatable): ingest, latency, reads, webhooks; default: all.",
    ),
) -> None:
    """Start a system of its own (embedded servers on free ports), load it, measure ingestion,
    rollup latency, reads and webhooks against this machine's raw limits, stop it, print the
    figures."""
    from okr_cli.bench import report, rollup, run, targets  # noqa: PLC0415 - only this needs them

    if unknown := [p for p in part if p not in targets.PARTS]:
        raise fail(f"no part {', '.join(unknown)}; choose from {', '.join(targets.PARTS)}")
    parts = tuple(part) or targets.PARTS
    try:
        figures = asyncio.run(run.run(quick, progress_workers, console, parts))
    except (EmbeddedServerError, StartFailed, TimeoutError) as err:
        raise fail(f"the benchmark could not run: {err}") from None
    console.print(report.table(figures))
    if json_file:
        report.write_json(json_file, figures, quick, progress_workers, parts)
        console.print(f"figures written to {json_file}")
    if "latency" in parts and (unreadable := rollup.shortfall(figures)):
        raise fail(f"the benchmark's figures cannot be read: {unreadable}")


@app.command()
def chaos(
    scenario: list[str] = typer.Option(
        [], "--scenario", "-s", help="Run only these (repeatable); default: all."
    ),
    quick: bool = typer.Option(False, "--quick", help="3,000 values per scenario, not 20,000."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the verdicts here."),
    markdown: bool = typer.Option(False, "--markdown", help="Also print the table as Markdown."),
) -> None:
    """Fault injection: each scenario starts a system of its own, publishes a known stream of
    KPI values (duplicates and out-of-order ones mixed in) while it hurts the system, lets it
    settle, and checks that nothing was lost, doubled, wrongly dead-lettered or mis-rolled-up."""
    from okr_cli.chaos import report, scenarios  # noqa: PLC0415 - only this command needs them

    unknown = [name for name in scenario if name not in scenarios.SCENARIOS]
    if unknown:
        raise fail(
            f"no scenario {', '.join(unknown)}; choose from {', '.join(scenarios.SCENARIOS)}"
        )
    chosen = [scenarios.SCENARIOS[name] for name in scenario or scenarios.SCENARIOS]
    verdicts = []
    for one in chosen:
        with console.status(f"{one.name}: {one.what}"):
            try:
                verdicts.append(asyncio.run(scenarios.run(one, quick)))
            except (EmbeddedServerError, StartFailed, TimeoutError) as err:
                verdicts.append(scenarios.did_not_finish(one, err))
        console.print(f"{one.name}: {'pass' if verdicts[-1].passed else 'FAIL'}")
    console.print(report.table(verdicts))
    for v in verdicts:
        for note in [*v.notes, *(f"FAILED: {rule}" for rule in v.broken_rules())]:
            console.print(f"  {v.scenario}: {note}", markup=False)
    if markdown:
        console.print(report.markdown(verdicts), markup=False)
    if json_file:
        report.write_json(json_file, verdicts, quick)
        console.print(f"verdicts written to {json_file}")
    if not all(v.passed for v in verdicts):
        raise fail("some scenarios failed")


progress_app = typer.Typer(help="The rollup worker.", no_args_is_help=True)
app.add_typer(progress_app, name="progress")


@progress_app.command("rebuild")
def progress_rebuild() -> None:
    """Rebuild the progress service's projection from the objectives and KPIs services, and
    recompute every objective's rollup (publishing the ones that change)."""
    settings = load_settings(CliSettings, "okr")
    url = nats_url(settings, hr=False)
    try:
        report = asyncio.run(_rebuild(url))
    except OkrError as err:
        raise fail(f"rebuild failed: {err.message}") from None
    except Exception as err:
        raise fail(
            f"could not reach NATS at {redact_url(url)}: {err or type(err).__name__}"
        ) from None
    console.print(
        f"rebuilt from {report.objectives} objectives, {report.links} links and {report.kpis} "
        f"KPIs; {report.changed} rollups changed"
    )


async def _rebuild(nats_url: str) -> RebuildReport:
    client = await nats.connect(
        nats_url,
        connect_timeout=3,
        max_reconnect_attempts=1,
        inbox_prefix=subjects.SERVICE_INBOX_PREFIX,
    )
    try:
        reply = await client.request(subjects.RPC_PROGRESS_REBUILD, b"{}", timeout=300)
    finally:
        await client.close()
    if REFUSED in (reply.headers or {}):
        raise error_from_dict(json.loads(reply.data))
    return RebuildReport.model_validate_json(reply.data)
