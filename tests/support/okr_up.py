"""`okr up` and the other `okr` commands as a user runs them: in a process of their own, with
an environment of free ports and a data dir of the test's."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from okr_shared.embedded import free_port, port_is_free

# Every `okr up` started, for the tests' clean-up to stop whatever an assertion left running.
STARTED: list[subprocess.Popen[str]] = []


@dataclass
class Up:
    process: subprocess.Popen[str]
    output: list[str]
    env: dict[str, str]
    gateway: str


def okr_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    return {
        **env,
        "OKR_DATA_DIR": str(data_dir),
        "OKR_NATS_PORT": str(free_port()),
        "OKR_POSTGRES_PORT": str(free_port()),
        "OKR_GATEWAY_PORT": str(free_port()),
        "OKR_METRICS_PORT": str(free_port_run(8)),
        "COLUMNS": "250",
    }


def free_port_run(count: int) -> int:
    """The first of `count` free consecutive ports (one /metrics port per process), below the
    ephemeral range: there, an outgoing connection may take one between choosing and binding."""
    first = random.randrange(20_000, 30_000)
    for base in range(first, 32_000, count):
        if all(port_is_free(port) for port in range(base, base + count)):
            return base
    raise AssertionError("no run of free ports between 20000 and 32000")


def start(env: dict[str, str], *args: str) -> Up:
    process = subprocess.Popen(
        [sys.executable, "-m", "okr_cli", "up", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    STARTED.append(process)
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line.rstrip())
        if line.startswith("Press Ctrl-C"):
            return Up(process, output, env, f"http://127.0.0.1:{env['OKR_GATEWAY_PORT']}")
    process.kill()
    raise AssertionError("okr up did not come up:\n" + "\n".join(output))


def stop(up: Up, sig: int) -> str:
    up.process.send_signal(sig)
    rest, _ = up.process.communicate(timeout=60)
    assert up.process.returncode == 0, rest
    return rest


def okr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "okr_cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


def login(gateway: str, password: str) -> dict[str, str]:
    response = httpx.post(
        f"{gateway}/api/v1/auth/login", data={"username": "admin", "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
