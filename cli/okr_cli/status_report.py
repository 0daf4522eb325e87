"""What `okr status` finds: NATS, PostgreSQL, the gateway's /ready and every service instance
that answers a ping, asked at once and each within a few seconds, and whether all is ready.

The report is also `okr status --json`, so its field names are a documented interface
(README, "Operating it").
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from okr_cli import probe
from okr_cli.config import CliSettings
from okr_cli.services import SERVICES
from okr_cli.supervisor import read_run_info
from okr_cli.ui import nats_url
from okr_shared.contracts.common import ConsumerLag, ServiceInfo, ServiceStatus
from okr_shared.db import libpq_url
from okr_shared.private_files import redact_url

# NATS gets a little longer: two requests, each collecting answers for half a second.
NATS_TIMEOUT_S = 5.0
POSTGRES_TIMEOUT_S = 3.0


class ServerCheck(BaseModel):
    url: str | None  # credentials redacted; None: nothing says where it is
    ready: bool
    error: str | None = None


class GatewayCheck(ServerCheck):
    status_code: int | None = None  # what /ready answered; None: no answer
    checks: dict[str, bool] = {}  # its own view: {"nats": ..., "database": ...}


class InstanceReport(BaseModel):
    instance: str
    version: str
    host: str
    pid: int
    started_at: datetime
    ready: bool  # it answered the ping, which a service does only once it can work
    consumers: list[ConsumerLag] | None  # None: no answer to rpc.status in time
    outbox_backlog: int | None  # events committed, not yet published; None: no outbox, or unknown
    metrics_url: str | None


class ServiceReport(BaseModel):
    ready: bool  # at least one instance is ready
    instances: list[InstanceReport]


class StatusReport(BaseModel):
    ready: bool
    not_ready: list[str]  # one phrase per thing that is not ready
    nats: ServerCheck
    postgresql: ServerCheck
    gateway: GatewayCheck
    services: dict[str, ServiceReport]

    def nothing_answers(self) -> bool:
        return not (self.nats.ready or self.postgresql.ready or self.gateway.status_code)


async def gather(settings: CliSettings) -> StatusReport:
    """Ask everything at once; what does not answer in time is not ready."""
    running = read_run_info(settings.data_path)
    gateway_url = (
        running.get("gateway_url") or f"http://{settings.gateway_host}:{settings.gateway_port}"
    )
    database_url = settings.database_url or running.get("database_url")
    (nats, answers, statuses), postgresql, gateway = await asyncio.gather(
        ask_nats(nats_url(settings, hr=False)),
        ask_postgres(database_url, settings),
        ask_gateway(gateway_url),
    )
    return judge(nats, postgresql, gateway, services(answers, statuses))


NatsAnswers = tuple[ServerCheck, list[ServiceInfo], dict[str, ServiceStatus]]


async def ask_nats(url: str) -> NatsAnswers:
    def unreachable(err: BaseException) -> NatsAnswers:
        return ServerCheck(url=redact_url(url), ready=False, error=describe(err)), [], {}

    try:
        async with asyncio.timeout(NATS_TIMEOUT_S):
            # Both ask, even when one fails, so that no failure is left unretrieved.
            answers, statuses = await asyncio.gather(
                probe.ping_all(url), probe.status_all(url), return_exceptions=True
            )
    except TimeoutError as err:
        return unreachable(err)
    if isinstance(answers, BaseException):
        return unreachable(answers)
    if isinstance(statuses, BaseException):
        return unreachable(statuses)
    return ServerCheck(url=redact_url(url), ready=True), answers, statuses


async def ask_postgres(url: str | None, settings: CliSettings) -> ServerCheck:
    """Connect and run `SELECT 1`: a port that accepts connections is not yet a database."""
    if not url:
        return ServerCheck(
            url=None,
            ready=False,
            error=f"no `okr up` runs from {settings.data_path} and OKR_DATABASE_URL is unset",
        )
    try:
        dsn = libpq_url(url)
    except ValueError as err:
        return ServerCheck(url=redact_url(url), ready=False, error=f"OKR_DATABASE_URL {err}")
    try:
        async with asyncio.timeout(POSTGRES_TIMEOUT_S):
            connection = await asyncpg.connect(
                dsn, server_settings={"application_name": "okr-status"}
            )
            try:
                await connection.fetchval("SELECT 1")
            finally:
                await connection.close()
    except Exception as err:
        return ServerCheck(url=redact_url(url), ready=False, error=describe(err))
    return ServerCheck(url=redact_url(url), ready=True)


async def ask_gateway(url: str) -> GatewayCheck:
    status_code, body = await probe.ask_ready(url)
    checks = body.get("checks")
    error = body.get("error")
    return GatewayCheck(
        url=f"{url}/ready",
        ready=status_code == 200,
        error=str(error) if error else None,
        status_code=status_code,
        checks={str(k): bool(v) for k, v in checks.items()} if isinstance(checks, dict) else {},
    )


def services(
    answers: list[ServiceInfo], statuses: dict[str, ServiceStatus]
) -> dict[str, ServiceReport]:
    """Every service okr runs (none ready until an instance answers), and any other that
    answers a ping."""
    found: dict[str, list[InstanceReport]] = {spec.name: [] for spec in SERVICES}
    for info in answers:
        found.setdefault(info.service, []).append(instance(info, statuses.get(info.instance)))
    return {
        name: ServiceReport(ready=bool(instances), instances=instances)
        for name, instances in found.items()
    }


def instance(info: ServiceInfo, status: ServiceStatus | None) -> InstanceReport:
    if status is None and info.service == "gateway":
        status = ServiceStatus(instance=info.instance)  # it consumes nothing, has no outbox
    return InstanceReport(
        instance=info.instance,
        version=info.version,
        host=info.host,
        pid=info.pid,
        started_at=info.started_at,
        ready=True,
        consumers=None if status is None else status.consumers,
        outbox_backlog=None if status is None else status.outbox_backlog,
        metrics_url=info.metrics_url,
    )


def judge(
    nats: ServerCheck,
    postgresql: ServerCheck,
    gateway: GatewayCheck,
    services: dict[str, ServiceReport],
) -> StatusReport:
    not_ready = []
    if not nats.ready:
        not_ready.append(f"NATS at {nats.url} ({nats.error})")
    if not postgresql.ready:
        where = f" at {postgresql.url}" if postgresql.url else ""
        not_ready.append(f"PostgreSQL{where} ({postgresql.error})")
    missing = [name for name, service in services.items() if not service.ready]
    if missing:
        not_ready.append(f"no ready instance of {', '.join(missing)}")
    if not gateway.ready:
        not_ready.append(f"the gateway's {gateway.url} ({gateway_problem(gateway)})")
    return StatusReport(
        ready=not not_ready,
        not_ready=not_ready,
        nats=nats,
        postgresql=postgresql,
        gateway=gateway,
        services=services,
    )


def gateway_problem(gateway: GatewayCheck) -> str:
    failing = [name for name, ok in gateway.checks.items() if not ok]
    if failing:
        return f"{', '.join(failing)} not reachable from it"
    if gateway.error:
        return gateway.error
    return f"answered {gateway.status_code}"


def describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "no answer in time"
    return " ".join(str(err).split()) or type(err).__name__
