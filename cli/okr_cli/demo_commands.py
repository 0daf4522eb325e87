"""`okr demo`: a made-up company whose KPI values an HR system publishes, rolled up live."""

from __future__ import annotations

import asyncio

import typer

from okr_cli.config import CliSettings
from okr_cli.ui import app, console, fail
from okr_shared.settings import load_settings


@app.command()
def demo(
    size: int = typer.Option(
        1000, "--size", min=10, max=10_000, help="Objectives over four levels (10 to 10,000)."
    ),
    rate: float = typer.Option(
        50.0, "--rate", min=0.1, max=2000.0, help="KPI values published per second."
    ),
    duration: float | None = typer.Option(
        None, "--duration", min=1.0, help="Seconds to publish for (default: until Ctrl-C)."
    ),
) -> None:
    """Create a company (objectives over four levels, KPIs of each direction, users of each
    role) in the running system, or in one it starts as `okr up` does; then publish its KPI
    values over NATS as an HR system and show the tree's progress live, with values/s and the
    latency from publish to rollup. Ctrl-C stops; the data stays to explore."""
    from okr_cli.demo import build, run  # noqa: PLC0415 - only this command needs them

    settings = load_settings(CliSettings, "okr")
    options = run.Options(size, rate, duration)
    try:
        asyncio.run(run.run(settings, options, console))
    except (run.DemoFailed, build.BuildFailed) as err:
        raise fail(str(err)) from None
