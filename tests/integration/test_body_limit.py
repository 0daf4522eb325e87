"""Request bodies have a size limit, enforced before anything reads them and before the caller
is authenticated, chunked bodies included (issue 13, a probe defect: a 50 MB body was read and
parsed before the 401). Over a real socket to the gateway on a real port, since the limit is
about what reaches the server, and when."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from tests.support.browser import Gateway
from tests.support.kpis import make_kpi
from tests.support.system import RunningSystem

DEFAULT_LIMIT = 1024 * 1024  # OKR_GATEWAY_MAX_BODY_BYTES' default
CHUNK = b"x" * 65_536


async def raw_request(gateway: Gateway, head: str, body: Iterable[bytes] = ()) -> tuple[int, Any]:
    """Send the request head, then the body's chunks while the server takes them; the status
    and JSON body of its answer, which must come within 5 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)

    async def send() -> None:
        with contextlib.suppress(ConnectionError):  # the server may answer and close first
            writer.write(head.encode() + b"\r\n")
            await writer.drain()
            for chunk in body:
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(5):
            answer = await _response(reader)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload) if payload else None


def chunked(size: int) -> Iterator[bytes]:
    """`size` bytes in chunks of 64 KiB, as Transfer-Encoding: chunked frames them."""
    for _ in range(size // len(CHUNK)):
        yield b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
    yield b"0\r\n\r\n"


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


async def test_an_announced_large_body_is_refused_unread_before_authentication(
    gateway: Gateway,
) -> None:
    status, answer = await raw_request(
        gateway,
        "POST /api/v1/objectives HTTP/1.1\r\nHost: okr\r\n"
        "Content-Type: application/json\r\nContent-Length: 52428800\r\n",
    )  # 50 MB announced, none of it sent: the answer must not wait for it
    assert status == 413
    assert answer["code"] == "too_large"
    assert "1,048,576 bytes" in answer["detail"]


async def test_a_chunked_body_is_cut_off_at_the_limit_before_authentication(
    gateway: Gateway,
) -> None:
    status, answer = await raw_request(
        gateway,
        "POST /api/v1/objectives HTTP/1.1\r\nHost: okr\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        chunked(50 * DEFAULT_LIMIT),  # the server must answer after 1 MiB and a little
    )
    assert status == 413, answer
    assert answer["code"] == "too_large"


async def test_a_body_within_the_limit_goes_on_to_authentication(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        just_under = json.dumps({"title": "x" * (DEFAULT_LIMIT - 20)}).encode()
        assert len(just_under) <= DEFAULT_LIMIT
        small = await http.post(
            "/api/v1/objectives",
            content=just_under,
            headers={"content-type": "application/json"},
        )
        assert small.status_code == 401, small.text
        login = await http.post(
            "/api/v1/auth/login", data={"username": "x" * DEFAULT_LIMIT, "password": "p"}
        )
        assert login.status_code == 413, login.text


async def test_the_batch_route_takes_more(system: RunningSystem, gateway: Gateway) -> None:
    target = await make_kpi(system)
    values = [{"kpi_id": target["id"], "value": i} for i in range(1000)]
    # Valid JSON over the default limit: whitespace between the items.
    padded = (
        '{"values": [' + (" " * 2_000 + ",").join(json.dumps(v) for v in values) + "]}"
    ).encode()
    assert DEFAULT_LIMIT < len(padded) < 8 * DEFAULT_LIMIT
    async with httpx.AsyncClient(base_url=gateway.url, headers=system.admin_headers) as http:
        taken = await http.post(
            "/api/v1/kpis/values/batch",
            content=padded,
            headers={"content-type": "application/json"},
        )
        assert taken.status_code == 202, taken.text
        assert taken.json()["accepted"] == 1000
        too_much = await http.post(
            "/api/v1/kpis/values/batch",
            content=b" " * (8 * DEFAULT_LIMIT + 1),
            headers={"content-type": "application/json"},
        )
        assert too_much.status_code == 413, too_much.text


async def test_the_batch_route_reads_its_larger_body_only_for_a_known_sender(
    system: RunningSystem, gateway: Gateway
) -> None:
    """Not JSON at all, and no token: 401, which shows the body was not parsed first (that
    would have been a 422). Signed in, the same body gets the 422 that says what to fix."""
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        body, json_type = b"[" * 1000, {"content-type": "application/json"}
        anonymous = await http.post("/api/v1/kpis/values/batch", content=body, headers=json_type)
        assert anonymous.status_code == 401, anonymous.text
        known = await http.post(
            "/api/v1/kpis/values/batch", content=body, headers=json_type | system.admin_headers
        )
        assert known.status_code == 422, known.text
        assert "values" in known.json()["detail"]


async def test_an_import_reads_its_larger_body_only_for_a_known_sender(
    system: RunningSystem, gateway: Gateway
) -> None:
    """The same for an import (16 MiB): 401 unread without a token, 413 beyond its limit."""
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        body, csv_type = b"key,title\n" + b"x" * 1000, {"content-type": "text/csv"}
        anonymous = await http.post("/api/v1/objectives/import", content=body, headers=csv_type)
        assert anonymous.status_code == 401, anonymous.text
        known = await http.post(
            "/api/v1/objectives/import", content=body, headers=csv_type | system.admin_headers
        )
        assert known.status_code == 422, known.text
        huge = await http.post(
            "/api/v1/objectives/import",
            content=b"x" * (16 * 1024 * 1024 + 1),
            headers=csv_type | system.admin_headers,
        )
        assert huge.status_code == 413, huge.text
