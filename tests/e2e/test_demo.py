"""`okr demo` as a user meets it: on a running system (left running), on its own (started, then
stopped by Ctrl-C without a traceback), and with flags it refuses."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from okr_shared.embedded import port_is_free
from tests.e2e.test_okr_up import login, okr, okr_env, start, stop

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
    """`okr demo` with no system running, stopped by SIGINT once values flow: its output."""
    with subprocess.Popen(
        [sys.executable, "-m", "okr_cli", "demo", "--size", "30", "--rate", "20"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        assert process.stdout is not None
        output = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if not line or line.startswith("created Northwind"):
                break
        if not output[-1].startswith("created Northwind"):
            process.kill()
            raise AssertionError("the demo did not create its company:\n" + "".join(output))
        time.sleep(2)  # values flowing
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    text = "".join(output) + rest
    assert process.returncode == 0, text
    assert "Traceback" not in text
    return text


def company_tree(gateway: str, headers: dict[str, str], name: str) -> list[dict[str, Any]]:
    companies = httpx.get(
        f"{gateway}/api/v1/objectives", params={"level": "company"}, headers=headers
    ).json()["items"]
    (company,) = [c for c in companies if c["title"].startswith(name + ":")]
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
