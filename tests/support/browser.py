"""The dashboard in a real browser: Debian's Chromium (headless, driven by Playwright) and the
session's gateway app on a real port. Registered as a plugin in tests/conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from okr_shared.embedded import free_port
from tests.support.system import RunningSystem

CHROMIUM = Path("/usr/bin/chromium")
ALLOW_SKIP = "OKR_TEST_ALLOW_SKIP_BROWSER"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when it is missing. Without it the browser
    tests fail: a skip would leave the dashboard untested while the run reads as passed.
    OKR_TEST_ALLOW_SKIP_BROWSER=1 makes them skip instead, on a machine that cannot have it."""
    if not CHROMIUM.exists() and shutil.which("apt-get"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["apt-get", "install", "-y", "chromium"],
                check=False,  # a failure shows below
                capture_output=True,
                timeout=600,
            )
    if not CHROMIUM.exists():
        missing = f"Chromium is not at {CHROMIUM} and `apt-get install -y chromium` did not work"
        if os.environ.get(ALLOW_SKIP) == "1":
            pytest.skip(f"{missing} ({ALLOW_SKIP}=1)")
        pytest.fail(
            f"{missing}; install it, or set {ALLOW_SKIP}=1 to skip the browser tests",
            pytrace=False,
        )
    return CHROMIUM


class _InTestServer(uvicorn.Server):
    """Uvicorn in the test's event loop; Ctrl-C stays pytest's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Gateway:
    """The session's gateway app on a real port, which a test may stop and start again (as a
    deploy restarts a gateway) to see how the page lives through the gap."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: _InTestServer | None = None
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.system.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",  # its lifespan already runs under the system
            log_level="warning",
            timeout_graceful_shutdown=2,  # an open event stream is cut after that
        )
        self._server = _InTestServer(config)
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:
            assert not self._serving.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is None or self._serving is None:
            return
        self._server.should_exit = True
        await self._serving
        self._server = self._serving = None


@pytest.fixture
async def gateway(system: RunningSystem) -> AsyncIterator[Gateway]:
    running = Gateway(system)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def base_url(gateway: Gateway) -> str:
    return gateway.url
