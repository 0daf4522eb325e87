"""`okr up` as a user meets it: embedded servers, the services, a banner, a clean stop, data
that survives a restart, and a second `up` that says it is already running."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from okr_shared.embedded import port_is_free
from tests.support.okr_up import STARTED, login, okr, okr_env, start, stop


@pytest.fixture(autouse=True)
def no_system_left_running() -> Iterator[None]:
    """A failed assertion must not leave an `okr up` running into the next tests."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        elif process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "okr-data"


def test_up_runs_everything_and_stops_cleanly_and_keeps_the_data(data_dir: Path) -> None:
    env = okr_env(data_dir)
    first = start(env)
    banner = "\n".join(first.output)
    assert re.search(r"okr is up in \d+\.\d s", banner), banner
    assert f"API          {first.gateway}" in banner
    assert f"API docs     {first.gateway}/docs" in banner
    assert f"dashboard    {first.gateway}/" in banner
    assert f"event docs   {first.gateway}/asyncapi" in banner
    hr_url = re.search(rf"NATS         (nats://hr:\S+@127\.0\.0\.1:{env['OKR_NATS_PORT']})", banner)
    assert hr_url, banner
    assert (data_dir / "nats-hr-password").stat().st_mode & 0o777 == 0o600
    password = re.search(r"admin login  admin / (\S+)  \(kept in (\S+)\)", banner)
    assert password, banner
    password_file = Path(password.group(2))
    assert password_file.read_text().strip() == password.group(1)
    assert password_file.stat().st_mode & 0o777 == 0o600

    headers = login(first.gateway, password.group(1))
    created = httpx.post(
        f"{first.gateway}/api/v1/objectives",
        headers=headers,
        json={"title": "Survive a restart", "level": "company", "year": 2026},
    )
    assert created.status_code == 201, created.text
    assert httpx.get(f"{first.gateway}/ready").status_code == 200

    hr_commands_work(env, first.gateway, headers, data_dir)
    integrations_work(env)
    latency = asyncio.run(live_update_arrives(first.gateway, headers, hr_url.group(1)))
    print(f"KPI value published -> rollup on the SSE stream: {latency * 1000:.0f} ms")
    rebuilt = okr(env, "progress", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt from" in rebuilt.stdout

    # A pipe, and narrow: a table would be cut to fit (Rich assumes 80 columns in a pipe).
    status = okr({**env, "COLUMNS": "60"}, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "…" not in status.stdout, status.stdout
    for instance in ("gateway-1", "objectives-1", "kpis-1", "progress-1", "webhooks-1"):
        assert instance in status.stdout
    assert "consumer lag" in status.stdout and "kpis-ingest 0+0" in status.stdout
    operators_can_scrape_and_read_logs(status.stdout, data_dir)
    scripts_can_read_the_status(env, data_dir)

    second = okr(env, "up")
    assert second.returncode == 1
    assert second.stderr.strip().count("\n") == 0, second.stderr  # one line
    assert "already running" in second.stderr

    rest = stop(first, signal.SIGTERM)
    assert "okr stopped." in rest
    for port in ("OKR_NATS_PORT", "OKR_POSTGRES_PORT", "OKR_GATEWAY_PORT"):
        assert port_is_free(int(env[port])), f"{port} still in use after the stop"
    asked = time.monotonic()
    nothing = okr(env, "status", "--json")
    assert time.monotonic() - asked < 15  # no long waits for what is not there
    assert nothing.returncode == 1
    assert json.loads(nothing.stdout)["ready"] is False
    assert nothing.stderr.strip().count("\n") == 0, nothing.stderr
    assert "nothing is running" in nothing.stderr

    again = start(env, "--progress-workers", "2")
    try:
        assert f"the password in {password_file}" in "\n".join(again.output)
        headers = login(again.gateway, password_file.read_text().strip())
        kept = httpx.get(
            f"{again.gateway}/api/v1/objectives/{created.json()['id']}", headers=headers
        )
        assert kept.status_code == 200
        assert kept.json()["title"] == "Survive a restart"
        status = okr(env, "status")
        assert "progress-1" in status.stdout and "progress-2" in status.stdout
    finally:
        stop(again, signal.SIGINT)


def test_a_crashed_service_is_restarted_and_a_bad_one_stops_the_start(data_dir: Path) -> None:
    env = okr_env(data_dir)
    up = start(env)
    try:
        pid = instance_pids(env).get("progress-1")
        assert pid, "progress-1 is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = instance_pids(env)
            if now.get("progress-1") not in (None, pid):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"progress-1 was not restarted: {now}")
    finally:
        rest = stop(up, signal.SIGTERM)
    assert "progress-1 exited with code -9; restarting" in rest

    broken = okr({**env, "OKR_JWT_SECRET": "too-short"}, "up")
    assert broken.returncode == 1
    assert "gateway-1 exited with code 2 while starting" in broken.stderr
    assert "OKR_JWT_SECRET: Value error, must be at least 32 characters" in broken.stderr


def instance_pids(env: dict[str, str]) -> dict[str, int]:
    report = json.loads(okr(env, "status", "--json").stdout)
    return {
        one["instance"]: one["pid"]
        for service in report["services"].values()
        for one in service["instances"]
    }


def scripts_can_read_the_status(env: dict[str, str], data_dir: Path) -> None:
    """`okr status --json` says what the table says and whether all is ready, as does the exit
    code; a stopped service or database makes both say no, and name it."""
    ready = okr(env, "status", "--json")
    assert ready.returncode == 0, ready.stderr
    report = json.loads(ready.stdout)
    assert report["ready"] is True and report["not_ready"] == []
    assert report["nats"]["ready"] and report["postgresql"]["ready"]
    assert report["gateway"]["ready"] and report["gateway"]["checks"]["database"] is True
    assert set(report["services"]) == {"objectives", "kpis", "progress", "webhooks", "gateway"}
    for service in report["services"].values():
        assert service["ready"] and service["instances"][0]["ready"]
        assert re.fullmatch(
            r"http://127\.0\.0\.1:\d+/metrics", service["instances"][0]["metrics_url"]
        )
    kpis = report["services"]["kpis"]["instances"][0]
    assert kpis["instance"] == "kpis-1" and kpis["version"] and kpis["outbox_backlog"] == 0
    assert [c["durable"] for c in kpis["consumers"]] == ["kpis-ingest"]

    # Stopped, not killed: the supervisor would restart a killed one before we look.
    stopped = [
        report["services"]["progress"]["instances"][0]["pid"],
        int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0]),
    ]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        not_ready = okr(env, "status", "--json")
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    assert not_ready.returncode == 1, not_ready.stdout
    verdict = json.loads(not_ready.stdout)
    assert verdict["ready"] is False
    assert verdict["postgresql"]["ready"] is False
    assert verdict["services"]["progress"] == {"ready": False, "instances": []}
    assert verdict["services"]["kpis"]["ready"] is True
    line = not_ready.stderr.strip()
    assert line.count("\n") == 0, line
    assert "not ready: PostgreSQL at postgresql://okr:***@127.0.0.1:" in line
    assert "no ready instance of progress" in line


def operators_can_scrape_and_read_logs(status: str, data_dir: Path) -> None:
    """Every process serves /metrics on a port of its own (listed by `okr status`), and logs
    one JSON object per line."""
    urls = re.findall(r"http://127\.0\.0\.1:\d+/metrics", status)
    assert len(urls) == 5, status  # objectives, kpis, progress, webhooks, gateway
    for url in urls:
        response = httpx.get(url)
        assert response.status_code == 200, url
        assert "okr_messages_consumed_total" in response.text
    gateway = next(
        httpx.get(u).text for u in urls if "okr_http_requests_total{" in httpx.get(u).text
    )
    assert 'route="/api/v1/objectives"' in gateway
    line = json.loads((data_dir / "logs" / "kpis-1.log").read_text().splitlines()[-1])
    assert line["service"] == "kpis" and line["instance"] == "kpis-1" and line["message"]


def hr_commands_work(
    env: dict[str, str], gateway: str, headers: dict[str, str], data_dir: Path
) -> None:
    """publish-kpi, import-values and rejections against the running system, as the HR user."""
    kpi = httpx.post(
        f"{gateway}/api/v1/kpis",
        headers=headers,
        json={"title": "Hires", "target_value": 10, "year": 2026},
    ).json()
    published = okr(env, "publish-kpi", str(kpi["id"]), "4", "--key", "e2e-1")
    assert published.returncode == 0, published.stderr
    assert "KPI_VALUES stored it" in published.stdout
    again = okr(env, "publish-kpi", str(kpi["id"]), "4", "--key", "e2e-1")
    assert "a repeat" in again.stdout
    csv_file = data_dir.parent / "values.csv"
    csv_file.write_text(
        f"kpi_id,value,observed_at\n{kpi['id']},5,2026-01-01T00:00:00+00:00\n"
        f"{kpi['id']},six,\n987654321,1,\n"
    )
    imported = okr(env, "import-values", str(csv_file))
    assert imported.returncode == 1  # one row was refused locally
    assert "accepted 2 rows in 1 messages; rejected 1" in imported.stdout
    assert "line 3:" in imported.stdout

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        values = httpx.get(f"{gateway}/api/v1/kpis/{kpi['id']}/values", headers=headers).json()
        listed = okr(env, "rejections")
        if len(values) == 2 and "unknown KPI 987654321" in listed.stdout:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"values {values}; rejections:\n{listed.stdout}{listed.stderr}")
    assert (
        httpx.get(f"{gateway}/api/v1/kpis/{kpi['id']}", headers=headers).json()["current_value"]
        == 4
    )


def integrations_work(env: dict[str, str]) -> None:
    """`okr integrations`: the NATS URL it prints once lets the system in through okr up's
    auth callout; revoking closes that connection."""
    made = okr(env, "integrations", "create", "e2e-hris")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Store these now" in made.stdout
    url = re.search(r"nats_url\s+(nats://integration-(\d+):\S+)", made.stdout)
    inbox = re.search(r"inbox_prefix\s+(\S+)", made.stdout)
    assert url and inbox, made.stdout

    async def connect_and_revoke() -> str:
        closed = asyncio.Event()

        async def on_closed() -> None:
            closed.set()

        client = await nats.connect(
            url.group(1), inbox_prefix=inbox.group(1), allow_reconnect=False, closed_cb=on_closed
        )
        try:
            shown = await asyncio.to_thread(okr, env, "integrations", "show", url.group(2))
            revoked = await asyncio.to_thread(okr, env, "integrations", "revoke", url.group(2))
            await asyncio.wait_for(closed.wait(), timeout=5)
        finally:
            await client.close()
        assert re.search(r"connections\s+1\n", shown.stdout), shown.stdout
        return revoked.stdout

    revoked = asyncio.run(connect_and_revoke())
    assert "closed 1 open NATS connection" in revoked, revoked
    listed = okr(env, "integrations", "list")
    assert "e2e-hris" in listed.stdout and "revoked" in listed.stdout, listed.stdout


async def live_update_arrives(gateway: str, headers: dict[str, str], hr_url: str) -> float:
    """A KPI value published on NATS moves the bar: the rollup reaches the SSE stream."""
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=30) as http:
        kpi = (
            await http.post(
                "/api/v1/kpis", json={"title": "Live", "target_value": 10, "year": 2026}
            )
        ).json()
        goal = (
            await http.post(
                "/api/v1/objectives", json={"title": "Live", "level": "company", "year": 2026}
            )
        ).json()
        linked = await http.post(
            f"/api/v1/objectives/{goal['id']}/kpis", json={"kpi_id": kpi["id"]}
        )
        assert linked.status_code == 201
        async with http.stream(
            "GET", "/api/v1/progress/stream", params={"objective_id": goal["id"]}
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(": connected")
            hr = await nats.connect(hr_url)
            started = time.perf_counter()
            await hr.jetstream().publish(f"kpi.values.{kpi['id']}", b'{"value": 5}')
            await hr.close()
            async with asyncio.timeout(10):
                async for line in lines:
                    if line.startswith("data: "):
                        update = json.loads(line.removeprefix("data: "))
                        if update["progress_percentage"] == 50.0:
                            assert update["objective_id"] == goal["id"]
                            assert update["calculation_method"] == "kpis"
                            return time.perf_counter() - started
    raise AssertionError("no rollup update arrived")
