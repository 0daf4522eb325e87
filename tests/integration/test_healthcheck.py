"""`okr-healthcheck SERVICE`, compose's readiness check, against the running services."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from okr_shared.embedded import free_port
from tests.support.system import RunningSystem


async def healthcheck(service: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "okr_cli.healthcheck",
        service,
        env={**os.environ, **env},
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("service", ["objectives", "kpis", "progress"])
async def test_a_ready_instance_is_healthy(system: RunningSystem, service: str) -> None:
    code, stderr = await healthcheck(
        service, OKR_NATS_URL=system.nats_url, OKR_INSTANCE=f"{service}-test"
    )
    assert (code, stderr) == (0, "")


async def test_another_instance_does_not_make_this_one_healthy(system: RunningSystem) -> None:
    code, stderr = await healthcheck(
        "progress", OKR_NATS_URL=system.nats_url, OKR_INSTANCE="progress-elsewhere"
    )
    assert code == 1
    assert "no ready progress (instance progress-elsewhere)" in stderr


async def test_no_nats_and_no_gateway_are_unhealthy() -> None:
    code, stderr = await healthcheck("kpis", OKR_NATS_URL=f"nats://127.0.0.1:{free_port()}")
    assert code == 1
    assert "cannot reach NATS" in stderr
    code, stderr = await healthcheck("gateway", OKR_GATEWAY_PORT=str(free_port()))
    assert code == 1
    assert "/ready did not answer" in stderr


async def test_an_unknown_service_is_a_usage_error() -> None:
    assert (await healthcheck("billing"))[0] == 2
