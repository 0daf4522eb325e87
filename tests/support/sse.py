"""A reader of the progress stream (`GET /api/v1/progress/stream`) over a real connection, for
the tests: it collects the updates in the background and says when the stream ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

Json = dict[str, Any]


class ProgressStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.updates: list[Json] = []
        self.ends: list[Json] = []  # the `end` events: why the server closed it
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        event, data = "message", []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    parsed = json.loads("\n".join(data))
                    (self.updates if event == "progress" else self.ends).append(parsed)
                    self._changed.set()
                    event, data = "message", []
        except (httpx.ReadError, httpx.RemoteProtocolError):
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def of(self, objective_id: int) -> list[Json]:
        return [u for u in self.updates if u["objective_id"] == objective_id]

    async def until(self, check: Callable[[], object], timeout_s: float = 10.0) -> None:
        """Wait until `check()` is true, or fail after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading


@contextlib.asynccontextmanager
async def progress_stream(
    base_url: str, headers: dict[str, str], **params: Any
) -> AsyncIterator[ProgressStream]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        stream_on(http, headers, **params) as stream,
    ):
        yield stream


@contextlib.asynccontextmanager
async def stream_on(
    http: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> AsyncIterator[ProgressStream]:
    """A stream on a client of the caller's (many streams may share one)."""
    async with http.stream(
        "GET", "/api/v1/progress/stream", params=params, headers=headers
    ) as response:
        assert response.status_code == 200, await response.aread()
        stream = ProgressStream(response)
        try:
            yield stream
        finally:
            await stream.stop()
