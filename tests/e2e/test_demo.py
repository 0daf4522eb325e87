"""`okr demo` as a user meets it: on a running system (left running), on its own (started, then
stopped by Ctrl-C without a traceback), and with flags it refuses."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from okr_shared.embedded import port_is_free
from tests.support.okr_up import login, okr, okr_env, start, stop

SUMMARY = re.compile(
    r"demo summary: (?P<company>Northwind \w+): (?P<objectives>[\d,]+) objectives, "
    r"(?P<kpis>[\d,]+) KPIs; (?P<sent>[\d,]+) values sent \((?P<failed>\d+) failed\).*?"
    r"(?P<rollups>[\d,]+) rollups seen; latency publish→rollup p50 (?P<p50>\d+) ms"
)
USER = re.compile(r"^  (\S+)\s+(admin|manager|employee|integration)", re.MULTILINE)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def nodes(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for node in tree:
        found.append(node)
        found += nodes(node["children"])
    return found


def test_demo_starts_a_system_stops_it_on_ctrl_c_and_then_uses_a_running_one(
    tmp_path: Path,
) -> None:
    """One system for both paths, as the CPU is shared: the demo on its own (started, Ctrl-C,
    stopped), `okr up` on the data it left, then the demo again on that running system."""
    env = okr_env(tmp_path / "okr-data")
    first = interrupted_demo(env)
    summary = SUMMARY.search(first)
    assert summary, first
    assert number(summary["sent"]) > 0 and number(summary["rollups"]) > 0
    assert "started the system at" in first and "The system is stopped; its data stays" in first
    last_year = datetime.now(UTC).year - 1
    assert "checked in on the 2 division objectives" in first, first
    assert f"closed {last_year}: 3 objectives graded" in first, first
    for port in ("OKR_NATS_PORT", "OKR_POSTGRES_PORT", "OKR_GATEWAY_PORT"):
        assert port_is_free(int(env[port])), f"{port} still in use after the demo"

    up = start(env)
    try:
        admin = login(up.gateway, (tmp_path / "okr-data" / "admin-password").read_text().strip())
        everything = company_tree(up.gateway, admin, summary["company"])
        assert len(everything) == 30 == number(summary["objectives"])
        assert {n["level"] for n in everything} == {"company", "division", "team", "individual"}
        assert any(n["progress_percentage"] > 0 for n in everything)

        again = okr(env, "demo", "--size", "10", "--duration", "2", "--rate", "20")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Traceback" not in again.stdout + again.stderr
        assert f"using the system at {up.gateway}" in again.stdout
        assert f"{last_year} was closed already" in again.stdout, again.stdout
        periods = httpx.get(f"{up.gateway}/api/v1/periods", headers=admin).json()
        (graded,) = [p for p in periods if p["year"] == last_year and p["quarter"] is None]
        assert graded["state"] == "closed" and graded["graded"] == 3
        second = SUMMARY.search(again.stdout)
        assert second and second["company"] != summary["company"], again.stdout
        assert number(second["sent"]) >= 20 and second["failed"] == "0"
        assert f"The system is still running: the dashboard is at {up.gateway}/" in again.stdout
        assert len(company_tree(up.gateway, admin, second["company"])) == 10
        users = {role: name for name, role in USER.findall(again.stdout)}
        assert set(users) == {"admin", "manager", "employee", "integration"}, again.stdout
        password = re.search(r"with the password (\S+) ", again.stdout)
        assert password, again.stdout
        signed_in = httpx.post(
            f"{up.gateway}/api/v1/auth/login",
            data={"username": users["manager"], "password": password[1]},
        )
        assert signed_in.status_code == 200, signed_in.text
        assert httpx.get(f"{up.gateway}/ready").status_code == 200  # still running
    finally:
        stop(up, signal.SIGTERM)


def interrupted_demo(env: dict[str, str]) -> str:
    """`okr demo` with no system running, stopped by SIGINT once values flow: its output. Every
    wait has a deadline, and whatever happens the demo and all it started are gone afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "okr_cli", "demo", "--size", "30", "--rate", "20"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines, pump = _lines_of(process)
    output: list[str] = []
    family: list[psutil.Process] = []
    try:
        if not _read_until(lines, output, "created Northwind", timeout_s=90):
            raise AssertionError("the demo did not create its company:\n" + "".join(output))
        time.sleep(2)  # values flowing
        family = _family(process)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        pump.join(timeout=10)
        while not lines.empty() and (line := lines.get_nowait()) is not None:
            output.append(line)
    finally:
        left = _stop_leaving_nothing(process, family)
    text = "".join(output)
    assert not left, f"still running after the demo stopped: {left}\n{text}"
    assert process.returncode == 0, text
    assert "Traceback" not in text
    return text


def _lines_of(process: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The process's output lines, read by a thread so that a wait for one can have a deadline;
    None marks the end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def _read_until(
    lines: queue.Queue[str | None], output: list[str], start: str, timeout_s: float
) -> bool:
    """Into `output` until a line starts with `start` (True), or the end or the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if line is None:
            return False
        output.append(line)
        if line.startswith(start):
            return True


def _stop_leaving_nothing(
    process: subprocess.Popen[str], family: list[psutil.Process]
) -> list[str]:
    """Stop the demo as a user would (Ctrl-C, then SIGTERM), so that it stops the servers and
    services it started (each in a session of its own, out of reach of a signal to the demo);
    kill only as a last resort, them too. What had to be killed after the demo was gone."""
    for sig, wait_s in ((signal.SIGINT, 60), (signal.SIGTERM, 30)):
        if process.poll() is not None:
            break
        family += _family(process)
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait_s)
    if process.poll() is None:
        process.kill()
        process.wait()
    left = []
    for straggler in set(family):
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            if straggler.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{straggler.name()} (pid {straggler.pid})")
                straggler.kill()
    if process.stdout is not None:
        process.stdout.close()
    return left


def _family(process: subprocess.Popen[str]) -> list[psutil.Process]:
    """Every process the demo started and still runs (they leave its tree when it dies)."""
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        return []


def company_tree(gateway: str, headers: dict[str, str], name: str) -> list[dict[str, Any]]:
    companies = httpx.get(
        f"{gateway}/api/v1/objectives", params={"level": "company"}, headers=headers
    ).json()["items"]
    this_year = datetime.now(UTC).year  # last year's company goal is the demo's review
    (company,) = [
        c for c in companies if c["title"].startswith(name + ":") and c["year"] == this_year
    ]
    tree = httpx.get(
        f"{gateway}/api/v1/objectives/tree/view", params={"root_id": company["id"]}, headers=headers
    ).json()
    return nodes(tree)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--size", "3"), ("--rate", "0")],
)
def test_demo_refuses_bad_flags_before_doing_anything(
    tmp_path: Path, flag: str, value: str
) -> None:
    env = okr_env(tmp_path / "okr-data")
    refused = okr(env, "demo", flag, value)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert flag in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "okr-data").exists()  # nothing was started
