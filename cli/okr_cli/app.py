"""The `okr` command: `./okr --help` lists what it does."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import typer

from okr_cli import probe
from okr_cli.config import CliSettings, parse_replicas
from okr_cli.migrate import MigrationFailed, kept_role_passwords, migrate_all
from okr_cli.services import SERVICES
from okr_cli.supervisor import AlreadyRunning, Endpoints, StartFailed, System, replicas_from
from okr_cli.ui import app, console, fail
from okr_shared.embedded import EmbeddedPostgres, EmbeddedServerError
from okr_shared.private_files import ADMIN_PASSWORD_FILE
from okr_shared.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

READY_TIMEOUT_S = 60.0


class Stop(Exception):
    """SIGINT or SIGTERM arrived: stop everything, cleanly."""


def _stop(signum: int, _: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


@app.command()
def up(
    replicas: str = typer.Option(
        None,
        "--replicas",
        "-r",
        metavar="SERVICE=N,...",
        help="Processes per service, e.g. objectives=2,kpis=2,progress=3 (default OKR_REPLICAS, "
        "else 1 each).",
    ),
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
    try:
        chosen = replicas_from(
            settings, parse_replicas(replicas) if replicas else None, progress_workers
        )
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--replicas") from None
    started = time.monotonic()
    system = System(settings, chosen)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    problem = None
    try:
        with console.status("starting NATS and PostgreSQL"):
            endpoints = system.start_servers()
        with console.status("applying migrations"):
            system.migrate(endpoints)
        password_file = settings.data_path / ADMIN_PASSWORD_FILE
        kept_before = password_file.exists()
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
        login = _admin_login(settings, password_file, kept_before)
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


def _admin_login(settings: CliSettings, password_file: Path, kept_before: bool) -> str:
    """How to sign in as the admin, for the banner. The gateway makes the admin on its first
    start (and is ready only once it has), keeping a generated password in the data folder."""
    username = settings.admin_username
    if settings.admin_password:
        return f"{username} / the password in OKR_ADMIN_PASSWORD"
    if password_file.exists() and not kept_before:
        return f"{username} / {password_file.read_text().strip()}  (kept in {password_file})"
    if password_file.exists():
        return f"{username} / the password in {password_file}"
    return f"{username} / the password it was given when it was created"


def _banner(system: System, endpoints: Endpoints, login: str, elapsed_s: float) -> None:
    workers = system.copies("progress")
    others = [f"{system.copies(s.name)} {s.name}" for s in SERVICES if s.name != "progress"]
    scaled = "".join(f", {copies}" for copies in others if not copies.startswith("1 "))
    console.print(
        f"[green]okr is up[/green] in {elapsed_s:.1f} s "
        f"({workers} progress worker{'s' if workers > 1 else ''}{scaled})"
    )
    metrics = system.settings.metrics_port
    console.print(f"  dashboard    {system.gateway_url}/")
    console.print(f"  API          {system.gateway_url}")
    console.print(f"  API docs     {system.gateway_url}/docs")
    console.print(f"  event docs   {system.gateway_url}/asyncapi")
    console.print(f"  NATS         {endpoints.hr_nats_url}   (HR systems publish KPI values here)")
    if endpoints.gateway_env:
        console.print(
            "  integrations ./okr integrations create NAME   (NATS credentials of its own for "
            "each system, revocable alone)"
        )
    console.print(f"  admin login  {login}")
    console.print(f"  logs         {system.data / 'logs'}   (JSON lines)")
    if metrics:
        console.print(f"  metrics      from port {metrics} up, one per process (`./okr status`)")
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
def migrate() -> None:
    """Apply every service's migrations to OKR_DATABASE_URL (or to the embedded PostgreSQL)."""
    settings = load_settings(CliSettings, "okr")
    if settings.database_url:
        try:
            passwords = settings.role_passwords()
            schemas = migrate_all(settings.database_url, passwords)
        except (MigrationFailed, ValueError) as err:
            raise fail(str(err)) from None
        if passwords is None:
            console.print(
                "no service roles: the services connect as the owner (set "
                "OKR_<SERVICE>_DATABASE_PASSWORD for each service to give each its own)"
            )
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
            schemas = migrate_all(postgres.url, kept_role_passwords(data))
        except (EmbeddedServerError, MigrationFailed) as err:
            raise fail(str(err)) from None
        finally:
            postgres.stop()
    console.print(f"migrated: {', '.join(schemas)}")


# Registered on `app` by importing them: what HR systems do, and what operators run.
from okr_cli import (  # noqa: E402
    demo_commands,
    hr_commands,
    integration_commands,
    ops_commands,
    status_command,
)

__all__ = [
    "app",
    "demo_commands",
    "hr_commands",
    "integration_commands",
    "main",
    "ops_commands",
    "status_command",
]


def main() -> None:
    app(prog_name="okr")
