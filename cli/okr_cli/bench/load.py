"""A minimal HTTP/1.1 keep-alive load generator for the GET figures.

httpx spent 4.8 ms of CPU per request here, more than the gateway and the objectives service
together, on the same 2 cores as the system it measured. This client writes a request and reads
one response per connection, and costs a small fraction of that.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from okr_cli.bench.rollup import percentile


class HttpError(RuntimeError):
    pass


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str) -> Connection:
        parts = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def get(self, path: str, headers: bytes) -> bytes:
        """The body of a 200 response; HttpError for any other status."""
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + headers + b"\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if status != b"200":
            raise HttpError(f"GET {path} answered {status.decode()}: {body[:200]!r}")
        return body

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def run(
    base_url: str,
    authorization: str,
    next_path: Callable[[], str],
    clients: int,
    seconds: float,
    requests: int | None = None,
) -> list[float]:
    """`clients` connections each sending GETs back to back for `seconds` (or until `requests`
    have been sent in all): the latencies, ms."""
    host = urlsplit(base_url).netloc
    headers = f"Host: {host}\r\nAuthorization: {authorization}\r\n".encode()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = await Connection.open(base_url)
        try:
            while time.perf_counter() < deadline and (
                requests is None or len(latencies) < requests
            ):
                started = time.perf_counter()
                await connection.get(next_path(), headers)
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def get_objective(
    gateway: str, authorization: str, ids: list[int], seconds: float
) -> dict[str, float]:
    """GETs of random objectives among `ids` (the gateway's read model answers them)."""
    path = "/api/v1/objectives/{}"
    return await rate("get_objective", gateway, authorization, path, ids, seconds)


async def list_children(
    gateway: str, authorization: str, parent_ids: list[int], seconds: float
) -> dict[str, float]:
    """Pages of the children of random objectives among `parent_ids`: the objectives service
    answers them over request/reply, so this is the request path's own figure."""
    path = "/api/v1/objectives?parent_id={}&limit=20"
    return await rate("list_objectives", gateway, authorization, path, parent_ids, seconds)


async def rate(
    name: str, gateway: str, authorization: str, path: str, ids: list[int], seconds: float
) -> dict[str, float]:
    """GETs of `path` with random ids among `ids`, from 8 clients for `seconds`: the rate, the
    p99 and how many were sent."""
    started = time.perf_counter()
    latencies = await run(
        gateway,
        authorization,
        lambda: path.format(random.choice(ids)),  # noqa: S311
        clients=8,
        seconds=seconds,
    )
    return {
        f"{name}_rps": len(latencies) / (time.perf_counter() - started),
        f"{name}_p99_ms": percentile(latencies, 0.99),
        "requests": len(latencies),
    }
