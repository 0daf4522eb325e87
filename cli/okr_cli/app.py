"""The `okr` command: `./okr --help` lists what it does."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from uuid import uuid4

import nats
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from okr_cli import hr, probe
from okr_cli.config import CliSettings
from okr_cli.migrate import migrate_all
from okr_cli.services import SERVICES
from okr_cli.supervisor import AlreadyRunning, Endpoints, StartFailed, System, read_run_info
from okr_shared import subjects
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.kpi_rpc import RecentRejections
from okr_shared.contracts.kpis import KpiValueIn, Rejection
from okr_shared.contracts.progress import RebuildReport
from okr_shared.db import make_engine, make_sessionmaker
from okr_shared.embedded import EmbeddedPostgres, EmbeddedServerError
from okr_shared.errors import OkrError, error_from_dict
from okr_shared.private_files import redact_url
from okr_shared.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0

app = typer.Typer(
    help="okr: OKRs and KPIs with exact, live progress rollup.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Stop(Exception):
    """SIGINT or SIGTERM arrived: stop everything, cleanly."""


def _stop(signum: int, _: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def fail(message: str) -> typer.Exit:
    err_console.print(f"[red]okr:[/red] {message}", soft_wrap=True)
    return typer.Exit(1)


@app.command()
def up(
    progress_workers: int = typer.Option(
        None,
        "--progress-workers",
        "-w",
        min=1,
        max=32,
        help="How many progress workers to run (default OKR_PROGRESS_WORKERS, else 1).",
    ),
) -> None:
    """Run the whole system in the foreground: embedded NATS and PostgreSQL (unless OKR_NATS_URL /
    OKR_DATABASE_URL point elsewhere), migrations, and the four services. Ctrl-C stops it all."""
    settings = load_settings(CliSettings, "okr")
    started = time.monotonic()
    system = System(settings, progress_workers or settings.progress_workers)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    problem = None
    try:
        with console.status("starting NATS and PostgreSQL"):
            endpoints = system.start_servers()
        with console.status("applying migrations"):
            migrate_all(endpoints.database_url)
            login = asyncio.run(_bootstrap_admin(settings, endpoints.database_url))
        with console.status("starting the services"):
            system.start_services(endpoints)
            asyncio.run(
                probe.wait_until_ready(
                    system.gateway_url,
                    endpoints.nats_url,
                    {s.name for s in SERVICES},
                    READY_TIMEOUT_S,
                    system.check_started,
                )
            )
        _banner(system, endpoints, login, time.monotonic() - started)
        while True:
            time.sleep(0.5)
            system.watch(lambda line: console.print(f"[yellow]{line}[/yellow]"))
    except AlreadyRunning as err:
        raise fail(str(err)) from None
    except (EmbeddedServerError, StartFailed) as err:
        problem = str(err)
    except TimeoutError as err:
        problem = f"the services were {err}; see the logs in {system.data / 'logs'}"
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        # Whatever happened, nothing we started outlives us; a second Ctrl-C cannot cut this short.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        with console.status("stopping"):
            system.stop()
    if problem:
        raise fail(problem)
    console.print("okr stopped.")


async def _bootstrap_admin(settings: CliSettings, database_url: str) -> str:
    from okr_gateway.bootstrap import bootstrap_admin  # noqa: PLC0415 - only `up` needs the gateway

    engine = make_engine(database_url, pool_size=1, application_name="okr-cli")
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    try:
        login = await bootstrap_admin(
            make_sessionmaker(engine), settings.admin_username, password, settings.data_path
        )
    finally:
        await engine.dispose()
    if login.generated_password:
        return f"{login.username} / {login.generated_password}  (kept in {login.password_file})"
    if password:
        return f"{login.username} / the password in OKR_ADMIN_PASSWORD"
    if login.password_file:
        return f"{login.username} / the password in {login.password_file}"
    return f"{login.username} / the password it was given when it was created"


def _banner(system: System, endpoints: Endpoints, login: str, elapsed_s: float) -> None:
    workers = system.progress_workers
    console.print(
        f"[green]okr is up[/green] in {elapsed_s:.1f} s "
        f"({workers} progress worker{'s' if workers > 1 else ''})"
    )
    console.print(f"  API          {system.gateway_url}")
    console.print(f"  API docs     {system.gateway_url}/docs")
    console.print(f"  NATS         {endpoints.hr_nats_url}   (HR systems publish KPI values here)")
    console.print(f"  admin login  {login}")
    console.print(f"  logs         {system.data / 'logs'}")
    console.print("Press Ctrl-C to stop.")


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_tests(
    ctx: typer.Context,
    lint: bool = typer.Option(True, "--lint/--no-lint", help="Run ruff and mypy before the tests."),
) -> None:
    """Run ruff, mypy and the whole test suite against real NATS and PostgreSQL, which the tests
    start themselves on free ports. Extra arguments go to pytest (e.g. `./okr test -k login`)."""
    steps: list[tuple[str, list[str]]] = []
    if lint:
        steps += [
            ("ruff", ["-m", "ruff", "check", "."]),
            ("ruff format", ["-m", "ruff", "format", "--check", "."]),
            ("mypy", ["-m", "mypy"]),
        ]
    steps.append(("pytest", ["-m", "pytest", *ctx.args]))
    failed = []
    for name, args in steps:
        console.rule(name)
        code = subprocess.call([sys.executable, *args], cwd=ROOT)  # noqa: S603
        if code != 0:
            failed.append(f"{name} (exit {code})")
    if failed:
        raise fail("failed: " + ", ".join(failed))
    console.print("[green]all checks passed[/green]")


@app.command()
def status() -> None:
    """Show each service and its replicas (they answer a NATS ping), and the gateway's readiness."""
    settings = load_settings(CliSettings, "okr")
    running = read_run_info(settings.data_path)
    nats_url = (
        settings.nats_url or running.get("nats_url") or f"nats://127.0.0.1:{settings.nats_port}"
    )
    gateway_url = (
        running.get("gateway_url") or f"http://{settings.gateway_host}:{settings.gateway_port}"
    )
    try:
        answers = asyncio.run(probe.ping_all(nats_url))
    except Exception as err:
        raise fail(
            f"NATS at {nats_url} is not reachable ({err or type(err).__name__}): "
            "is `./okr up` running?"
        ) from None
    ready, checks = asyncio.run(probe.gateway_ready(gateway_url))
    table = Table("service", "instance", "version", "host", "pid", "up for")
    now = time.time()
    for info in answers:
        uptime = _duration(now - info.started_at.timestamp())
        table.add_row(info.service, info.instance, info.version, info.host, str(info.pid), uptime)
    console.print(table)
    missing = sorted({s.name for s in SERVICES} - {info.service for info in answers})
    console.print(f"gateway {gateway_url}: {'ready' if ready else 'NOT ready'} {checks}")
    if missing or not ready:
        raise fail(
            "not answering: " + ", ".join(missing) if missing else "the gateway is not ready"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _nats_url(settings: CliSettings, *, hr: bool) -> str:
    running = read_run_info(settings.data_path)
    key = "hr_nats_url" if hr else "nats_url"
    return settings.nats_url or running.get(key) or f"nats://127.0.0.1:{settings.nats_port}"


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
    url = _nats_url(settings, hr=True)
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
    url = _nats_url(settings, hr=True)
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
) -> None:
    """The values the KPIs service refused, with their reasons (from the KPI_VALUES_DLQ stream)."""
    settings = load_settings(CliSettings, "okr")
    url = _nats_url(settings, hr=False)
    try:
        found = asyncio.run(_rejections(url, limit))
    except Exception as err:
        raise fail(
            f"could not read from NATS at {redact_url(url)}: {err or type(err).__name__}"
        ) from None
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


async def _rejections(nats_url: str, limit: int) -> list[Rejection]:
    from okr_kpis.queries import rejections as read  # noqa: PLC0415 - only this command needs it

    client = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        admin = Actor(user_id=0, role=Role.ADMIN)
        return await read(client.jetstream(), RecentRejections(actor=admin, limit=limit))
    finally:
        await client.close()


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="A shorter run (under 3 minutes)."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the figures here."),
    progress_workers: int = typer.Option(2, "--progress-workers", min=1, max=8),
) -> None:
    """Start a system of its own (embedded servers on free ports), load it, measure ingestion,
    rollup latency and reads against this machine's raw limits, stop it, print the figures."""
    from okr_cli.bench import report, run  # noqa: PLC0415 - only this command needs them

    try:
        figures = asyncio.run(run.run(quick, progress_workers, console))
    except (EmbeddedServerError, StartFailed, TimeoutError) as err:
        raise fail(f"the benchmark could not run: {err}") from None
    console.print(report.table(figures))
    if json_file:
        report.write_json(json_file, figures, quick, progress_workers)
        console.print(f"figures written to {json_file}")


progress_app = typer.Typer(help="The rollup worker.", no_args_is_help=True)
app.add_typer(progress_app, name="progress")


@progress_app.command("rebuild")
def progress_rebuild() -> None:
    """Rebuild the progress service's projection from the objectives and KPIs services, and
    recompute every objective's rollup (publishing the ones that change)."""
    settings = load_settings(CliSettings, "okr")
    url = _nats_url(settings, hr=False)
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
    client = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        reply = await client.request(subjects.RPC_PROGRESS_REBUILD, b"{}", timeout=300)
    finally:
        await client.close()
    envelope = json.loads(reply.data)
    if not envelope.get("ok"):
        raise error_from_dict(envelope.get("error") or {})
    return RebuildReport.model_validate(envelope["result"])


@app.command()
def migrate() -> None:
    """Apply every service's migrations to OKR_DATABASE_URL (or to the embedded PostgreSQL)."""
    settings = load_settings(CliSettings, "okr")
    if settings.database_url:
        schemas = migrate_all(settings.database_url)
    else:
        data = settings.data_path
        postgres = EmbeddedPostgres(
            data / "postgres",
            port=settings.postgres_port,
            password_file=data / "postgres-password",
            log_file=data / "logs" / "postgres.log",
        )
        try:
            postgres.start()
            schemas = migrate_all(postgres.url)
        except EmbeddedServerError as err:
            raise fail(str(err)) from None
        finally:
            postgres.stop()
    console.print(f"migrated: {', '.join(schemas)}")


def main() -> None:
    app(prog_name="okr")
