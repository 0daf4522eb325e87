"""`okr status`'s verdict and output, from a report made by hand: nothing is ever cut, and
"ready" means every part and every service."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

from rich.console import Console

from okr_cli.status_command import show
from okr_cli.status_report import (
    GatewayCheck,
    ServerCheck,
    StatusReport,
    instance,
    judge,
    services,
)
from okr_shared.contracts.common import ConsumerLag, ServiceInfo, ServiceStatus

METRICS = "http://metrics-host-with-a-rather-long-name.internal.example:19464/metrics"


def info(service: str) -> ServiceInfo:
    return ServiceInfo(
        service=service,
        version="0.1.0",
        instance=f"{service}-1",
        host="a-long-host-name.example",
        pid=4321,
        started_at=datetime.now(UTC),
        metrics_url=METRICS,
    )


def status(service: str) -> ServiceStatus:
    lag = ConsumerLag(stream="S", durable=f"{service}-consumer", pending=3, unacknowledged=1)
    return ServiceStatus(instance=f"{service}-1", consumers=[lag], outbox_backlog=0)


def report(*running: str, postgres_ready: bool = True) -> StatusReport:
    answers = [info(name) for name in running]
    return judge(
        ServerCheck(url="nats://okr:***@127.0.0.1:4222", ready=True),
        ServerCheck(
            url="postgresql://okr:***@127.0.0.1:5432/okr",
            ready=postgres_ready,
            error=None if postgres_ready else "no answer in time",
        ),
        GatewayCheck(
            url="http://127.0.0.1:8000/ready",
            ready=True,
            status_code=200,
            checks={"nats": True, "database": True},
        ),
        services(answers, {s.instance: s for s in map(status, running)}),
    )


ALL = ("objectives", "kpis", "progress", "webhooks", "gateway")


def rendered(value: StatusReport, *, terminal: bool, width: int) -> str:
    out = StringIO()
    show(value, Console(file=out, width=width, force_terminal=terminal, color_system=None))
    return out.getvalue()


def test_ready_only_when_every_part_and_every_service_is() -> None:
    assert report(*ALL).ready
    assert report(*ALL).not_ready == []
    missing = report("objectives", "kpis", "webhooks", "gateway")
    assert not missing.ready
    assert missing.not_ready == ["no ready instance of progress"]
    assert missing.services["progress"].ready is False
    database = report(*ALL, postgres_ready=False)
    assert not database.ready
    assert database.not_ready == [
        "PostgreSQL at postgresql://okr:***@127.0.0.1:5432/okr (no answer in time)"
    ]


def test_a_pipe_or_a_narrow_terminal_gets_whole_lines() -> None:
    for terminal in (False, True):
        text = rendered(report(*ALL), terminal=terminal, width=60)
        assert "…" not in text
        lines = text.splitlines()
        for name in ALL:
            row = next(line for line in lines if f" {name}-1 " in line)
            assert row.startswith(f"{name} ") and METRICS in row and "4321" in row
        assert "kpis-consumer 3+1" in text
        assert "all ready" in text


def test_a_wide_terminal_gets_a_table_with_whole_cells() -> None:
    text = rendered(report(*ALL), terminal=True, width=250)
    assert "┃ service" in text
    assert "…" not in text
    assert text.count(METRICS) == len(ALL)


def test_an_instance_that_does_not_say_its_lag_shows_a_question_mark() -> None:
    silent = instance(info("kpis"), None)
    assert silent.consumers is None and silent.outbox_backlog is None
    gateway = instance(info("gateway"), None)  # it has nothing to say: no consumers, no outbox
    assert gateway.consumers == [] and gateway.outbox_backlog is None
    value = judge(
        ServerCheck(url="nats://x", ready=True),
        ServerCheck(url="postgresql://x", ready=True),
        GatewayCheck(url="http://x/ready", ready=True, status_code=200),
        services([info("kpis")], {}),
    )
    row = next(
        line
        for line in rendered(value, terminal=False, width=80).splitlines()
        if line.startswith("kpis ")
    )
    assert row.endswith("?")
