"""The running shell of a FastStream service: broker, database, background workers, ping.

A service's `main.py` builds one `ServiceRuntime`, adds its routers and workers, and runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Protocol

from faststream import FastStream
from faststream.nats import NatsBroker, NatsUserPassword
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from okr_shared import failpoints, metrics, pace, subjects
from okr_shared.asyncapi import (
    Documented,
    asyncapi_router,
    declare_publishes,
    declare_receives,
    from_workers,
    outbox_publishes,
)
from okr_shared.consumer import BatchConsumer
from okr_shared.contracts.common import ConsumerLag, Ping, ServiceInfo, ServiceStatus, utcnow
from okr_shared.db import database_answers, make_engine, make_reader, make_sessionmaker
from okr_shared.errors import Unavailable
from okr_shared.faults import is_transient
from okr_shared.heap import freeze_startup_objects
from okr_shared.nats_auth import split_credentials
from okr_shared.outbox import Outbox, OutboxRelay
from okr_shared.private_files import redact_url
from okr_shared.rpc import RpcRouter
from okr_shared.settings import ServiceSettings
from okr_shared.streams import ensure_streams

log = logging.getLogger(__name__)


class Worker(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


# A worker is made from the broker's NATS connection once it is connected (a JetStream context
# is `client.jetstream()`).
WorkerFactory = Callable[[NatsClient], Worker]
GAUGES_EVERY_S = 5.0  # how often /metrics's lag and backlog figures are read


def make_broker(nats_url: str, name: str) -> NatsBroker:
    servers, auth = split_credentials(nats_url)  # for the servers a cluster announces too
    return NatsBroker(
        servers,
        name=name,
        inbox_prefix=subjects.SERVICE_INBOX_PREFIX,  # out of an HR credential's sight
        max_reconnect_attempts=-1,  # a NATS restart must never need a manual step
        reconnect_time_wait=1,
        connect_timeout=2,
        log_level=logging.DEBUG,
        security=NatsUserPassword(auth["user"], auth["password"]) if auth else None,
    )


def service_info(service: str, version: str, settings: ServiceSettings) -> ServiceInfo:
    instance = settings.instance
    return ServiceInfo(
        service=service,
        version=version,
        instance=instance or f"{service}@{socket.gethostname()}:{os.getpid()}",
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=utcnow(),
    )


def ping_router(
    info: ServiceInfo,
    ready: Callable[[], bool] = lambda: True,
    metrics_server: metrics.MetricsServer | None = None,
    database: AsyncEngine | None = None,
) -> RpcRouter:
    """Answer `rpc.<service>.ping` (one instance) and `rpc.ping` (every instance: `okr status`,
    and a container's healthcheck). Until `ready()`, or while `database` does not answer, the
    answer is an Unavailable error: the broker answers requests before the service's consumers
    are bound, and "up" must mean that it can work."""
    rpc = RpcRouter(queue=info.service)

    async def ping(_: Ping) -> ServiceInfo:
        """Readiness: which service, version and instance answered."""
        if not ready():
            raise Unavailable(f"{info.instance} is starting")
        if database is not None and not await database_answers(database):
            raise Unavailable(f"{info.instance} cannot reach its database")
        # Only a server that listens is worth naming: its port may have been taken.
        url = metrics_server.url if metrics_server else None
        return info.model_copy(update={"metrics_url": url})

    rpc.route(subjects.rpc_ping(info.service))(ping)
    rpc.route(subjects.RPC_PING_ALL, queue=False)(ping)
    return rpc


class ServiceRuntime:
    def __init__(
        self, service: str, version: str, settings: ServiceSettings, *, pool_size: int = 10
    ):
        self.settings = settings
        failpoints.arm(settings.failpoints)
        pace.use(settings.pace)
        self.info = service_info(service, version, settings)
        self.broker = make_broker(settings.nats_url, f"okr-{service}")
        self.engine = make_engine(
            settings.database_url, pool_size=pool_size, application_name=service
        )
        self.sessions = make_sessionmaker(self.engine)
        self.readers = make_reader(self.engine)
        self._factories: list[WorkerFactory] = []
        self._workers: list[Worker] = []
        self.metrics = metrics.MetricsServer(settings.metrics_host, settings.metrics_port)
        self._gauges: asyncio.Task[None] | None = None
        self.ready = False
        ping_router(self.info, lambda: self.ready, self.metrics, self.engine).serve_on(self.broker)
        self._status_router().serve_on(self.broker)
        self._publishes: list[Documented] = []
        self._receives_declared = False
        asyncapi = asyncapi_router(
            self.info,
            self.broker,
            documented=lambda: [*self._publishes, *from_workers(self._workers)],
            ready=lambda: self.ready,
        )
        asyncapi.serve_on(self.broker)
        self.app = FastStream(self.broker, logger=logging.getLogger(service))
        self.app.after_startup(self._start_process)
        self.app.on_shutdown(self.stop_workers)

    def _status_router(self) -> RpcRouter:
        rpc = RpcRouter(queue=self.info.service)

        @rpc.route(subjects.RPC_STATUS_ALL, queue=False)
        async def status(_: Ping) -> ServiceStatus:
            """This instance's consumers' lag and outbox backlog (`okr status`)."""
            return await self.status()

        return rpc

    async def status(self) -> ServiceStatus:
        lags, backlogs = await self._work()
        return ServiceStatus(
            instance=self.info.instance,
            consumers=lags,
            outbox_backlog=sum(backlogs.values()) if backlogs else None,
        )

    async def refresh_gauges(self) -> None:
        """Lag and backlog need a question to NATS and to the database: asked every few
        seconds here, not on each scrape (which comes from a thread, outside the event loop)."""
        lags, backlogs = await self._work()
        for lag in lags:
            metrics.CONSUMER_PENDING.labels(lag.stream, lag.durable).set(lag.pending)
            metrics.CONSUMER_UNACKNOWLEDGED.labels(lag.stream, lag.durable).set(lag.unacknowledged)
        for schema, backlog in backlogs.items():
            metrics.OUTBOX_BACKLOG.labels(schema).set(backlog)

    async def _work(self) -> tuple[list[ConsumerLag], dict[str, int]]:
        """Each consumer's lag, and each outbox's backlog by its schema."""
        lags = [await w.lag() for w in self._workers if isinstance(w, BatchConsumer)]
        backlogs = {
            str(w.outbox.table.schema): await w.backlog()
            for w in self._workers
            if isinstance(w, OutboxRelay)
        }
        return lags, backlogs

    async def _keep_gauges(self) -> None:
        while True:
            try:
                await self.refresh_gauges()
            except Exception as err:  # NATS or the database away: /status says so already
                log.debug("metrics: cannot read lag and backlog (%s)", err)
            await asyncio.sleep(GAUGES_EVERY_S)

    def publishes_through(self, outbox: Outbox) -> None:
        """Declare what `outbox` publishes, for the AsyncAPI document (its relay is a worker,
        made only once the broker has connected)."""
        documented = outbox_publishes(outbox)
        declare_publishes(self.broker, self.info.service, documented)
        self._publishes += documented

    def add_worker(self, factory: WorkerFactory) -> None:
        """Workers need JetStream, which exists only once the broker has connected."""
        self._factories.append(factory)

    async def _start_process(self) -> None:
        """A service's own process (`serve`): its workers, then its start-up heap frozen."""
        await self.start_workers()
        freeze_startup_objects()

    async def start_workers(self) -> None:
        js = self.broker.connection.jetstream()
        await self._declare_streams(js)
        for factory in self._factories:
            worker = factory(self.broker.connection)
            await worker.start()
            self._workers.append(worker)
        if not self._receives_declared:  # the broker has started: these it will never start
            declare_receives(self.broker, self.info.service, from_workers(self._workers))
            self._receives_declared = True
        if self.settings.metrics_port:
            self.metrics.start()
            self._gauges = asyncio.create_task(self._keep_gauges(), name="metrics-gauges")
        self.ready = True
        log.info("%s ready (%s)", self.info.instance, self.info.version)

    async def _declare_streams(self, js: JetStreamContext) -> None:
        """Wait out a JetStream that cannot answer yet (a cluster electing its leader after a
        node was lost) rather than exit and be restarted into the same wait."""
        delay = 0.2
        while True:
            try:
                await ensure_streams(js, replicas=self.settings.nats_replicas)
                return
            except Exception as err:
                if not is_transient(err):
                    raise
                log.warning("JetStream not ready (%s); retrying", err or type(err).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop_workers(self) -> None:
        self.ready = False
        if self._gauges is not None:
            self._gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauges
            self._gauges = None
        await asyncio.to_thread(self.metrics.stop)
        for worker in reversed(self._workers):
            await worker.stop()
        self._workers.clear()
        await self.engine.dispose()

    async def wait_for_nats(self) -> None:
        """The first connection is not retried by nats-py; wait for the server here instead."""
        delay = 0.2
        while True:
            try:
                await self.broker.connect()
                return
            except (OSError, TimeoutError, Exception) as err:
                where = redact_url(self.settings.nats_url)
                log.warning("NATS at %s not reachable (%s); retrying", where, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def start(self) -> None:
        """Start in the caller's event loop (tests, embedding); `serve()` is for a process."""
        await self.broker.start()
        await self.start_workers()

    async def stop(self) -> None:
        await self.stop_workers()
        await self.broker.stop()

    async def serve(self) -> None:
        await self.wait_for_nats()
        await self.app.run()
