"""The command line's shared parts: the Typer app, the consoles, a one-line failure."""

from __future__ import annotations

import typer
from rich.console import Console

from okr_cli.config import CliSettings
from okr_cli.supervisor import read_run_info

app = typer.Typer(
    help="okr: OKRs and KPIs with exact, live progress rollup.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str) -> typer.Exit:
    err_console.print(f"[red]okr:[/red] {message}", soft_wrap=True)
    return typer.Exit(1)


def nats_url(settings: CliSettings, *, hr: bool) -> str:
    """The NATS URL to use: OKR_NATS_URL, else the running `okr up`'s (as the HR user or as
    the services), else the embedded server's default port."""
    running = read_run_info(settings.data_path)
    key = "hr_nats_url" if hr else "nats_url"
    return settings.nats_url or running.get(key) or f"nats://127.0.0.1:{settings.nats_port}"
