"""The embedded NATS server that `okr up` runs has two users: the services may do anything, an
HR system may only publish KPI values (and read the JetStream acknowledgement)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import nats
import pytest

from okr_shared.embedded import EmbeddedNats, NatsUser, free_port, okr_users
from okr_shared.runtime import make_broker
from okr_shared.streams import ensure_streams
from okr_shared.subjects import Stream


async def anonymous_reply(server: EmbeddedNats) -> bytes:
    """What the server says to a client without credentials (raw protocol: nats-py would leak
    the socket of a refused connection into a later test's warnings)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await reader.readline()  # INFO
        writer.write(b'CONNECT {"verbose": false}\r\nPING\r\n')
        await writer.drain()
        return (await reader.readline()).strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_an_hr_user_may_publish_kpi_values_and_nothing_else(tmp_path: Path) -> None:
    server = EmbeddedNats(
        tmp_path / "nats",
        port=free_port(),
        users=okr_users("service-password-0123456789", "hr-password-0123456789"),
    )
    server.start()
    errors: list[Exception] = []

    async def collect(err: Exception) -> None:
        errors.append(err)

    try:
        assert (server.config_file.stat().st_mode & 0o777) == 0o600
        assert await anonymous_reply(server) == b"-ERR 'Authorization Violation'"
        service = await nats.connect(server.url_for("okr"))
        values = Stream("KPI_VALUES", ("kpi.values.>",), max_age=timedelta(days=1))
        await ensure_streams(service.jetstream(), (values,))

        async def answer(msg: nats.aio.msg.Msg) -> None:
            await msg.respond(b"{}")

        await service.subscribe("rpc.objectives.get", cb=answer)

        hr = await nats.connect(server.url_for("hr"), error_cb=collect)
        ack = await hr.jetstream().publish("kpi.values.7", b'{"value": 1}')
        assert ack.stream == "KPI_VALUES"

        with pytest.raises((nats.errors.NoRespondersError, nats.errors.TimeoutError)):
            await hr.request("rpc.objectives.get", b"{}", timeout=0.5)
        await hr.subscribe("objective.>")
        await hr.flush()
        await asyncio.sleep(0.2)
        violations = " ".join(str(e) for e in errors)
        assert 'permissions violation for publish to "rpc.objectives.get"' in violations
        assert 'permissions violation for subscription to "objective.>"' in violations
        await hr.close()
        await service.close()
    finally:
        server.stop()


async def test_a_service_that_loses_its_node_reconnects_to_another(tmp_path: Path) -> None:
    """A cluster tells its clients of its other servers, without credentials: a service that
    loses its node must still send its own to them (compose's cluster, deploy/nats.conf)."""
    ports = [(free_port(), free_port()) for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{route}" for _, route in ports)
    nodes = [
        EmbeddedNats(
            tmp_path / f"nats-{n}",
            port=client,
            server_name=f"nats-{n}",
            users=[NatsUser("okr", "service-password-0123456789")],
            extra_args=[
                *("--cluster_name", "okr", "--cluster", f"nats://127.0.0.1:{route}"),
                *("--routes", routes),
            ],
        )
        for n, (client, route) in enumerate(ports)
    ]
    # Only the first node's URL: the others are the ones the cluster announces.
    broker = make_broker(nodes[0].url_for("okr"), "okr-test")
    try:
        for node in nodes:
            node.start()
        client = await broker.connect()
        await until(lambda: len(client.servers) == 3)
        nodes[0].kill()

        def on_another_node() -> bool:
            url = client.connected_url
            return client.is_connected and url is not None and url.port != nodes[0].port

        await until(on_another_node)
    finally:
        try:
            with contextlib.suppress(nats.errors.Error):
                await broker.stop()
        finally:  # even when stopping a broker stuck reconnecting fails
            for node in nodes:
                node.stop()


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within 10 s"
        await asyncio.sleep(0.05)
