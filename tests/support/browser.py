"""The dashboard in a real browser: Debian's Chromium (headless, driven by Playwright) and the
session's gateway app on a real port. Registered as a plugin in tests/conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from okr_shared.embedded import free_port
from tests.support.system import RunningSystem

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when it is missing."""
    if not CHROMIUM.exists() and shutil.which("apt-get"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["apt-get", "install", "-y", "chromium"],
                check=False,  # a failure shows as a skip below
                capture_output=True,
                timeout=600,
            )
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed and `apt-get install -y chromium` did not work")
    return CHROMIUM


class _InTestServer(uvicorn.Server):
    """Uvicorn in the test's event loop; Ctrl-C stays pytest's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def base_url(system: RunningSystem) -> AsyncIterator[str]:
    """The session's gateway app on a real port (its lifespan already runs under the system)."""
    port = free_port()
    config = uvicorn.Config(
        system.app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = _InTestServer(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
