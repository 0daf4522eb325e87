"""Bad configuration: one line that names the variable and what is wrong, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "variable", "value", "says"),
    [
        (
            "okr_gateway",
            "OKR_GATEWAY_PORT",
            "eighty",
            "OKR_GATEWAY_PORT: Input should be a valid integer",
        ),
        (
            "okr_gateway",
            "OKR_JWT_SECRET",
            "short",
            "OKR_JWT_SECRET: Value error, must be at least 32",
        ),
        (
            "okr_objectives",
            "OKR_DATABASE_URL",
            "mysql://x",
            "OKR_DATABASE_URL: Value error, must start with postgresql://",
        ),
        (
            "okr_progress",
            "OKR_NATS_URL",
            "http://x",
            "OKR_NATS_URL: Value error, must be nats://host:port",
        ),
        ("okr_kpis", "OKR_LOG_LEVEL", "loud", "OKR_LOG_LEVEL: Value error, must be one of"),
        (
            "okr_objectives",
            "OKR_HEALTH_AT_RISK_WITHIN",
            "5",
            "OKR_HEALTH_AT_RISK_WITHIN: Value error, must not be below OKR_HEALTH_ON_TRACK",
        ),
        (
            "okr_cli",
            "OKR_NATS_PORT",
            "0",
            "OKR_NATS_PORT: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_variable_is_one_clear_line(module: str, variable: str, value: str, says: str) -> None:
    args = [sys.executable, "-m", module] + (["up"] if module == "okr_cli" else [])
    result = subprocess.run(
        args,
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
