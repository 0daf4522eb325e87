"""Run compose.yaml's plan (compose_plan.py) on loopback, as Docker would run the file:

- in `depends_on` order: a service starts once each of its dependencies is started, healthy
  (its healthcheck passed) or completed with exit 0, as the condition says; services with
  nothing to wait for start together (the three NATS nodes must, to form their cluster);
- every healthcheck is run, with its process's environment, until it passes; one that has not
  passed within its start period plus `retries` intervals, or a process that exits while
  starting, stops the start with its log's last lines. Deviation: a check is retried every
  second rather than every `interval` (Docker's first check waits a whole interval), and after
  the start no more checks run (they decide nothing once the services are up);
- restart policies: a process that dies on its own (`crash`: a SIGKILL from outside) is started
  again under `always`, `unless-stopped` and `on-failure`, after Docker's pause (0.1 s,
  doubling, reset once it ran 10 s); one stopped by hand (`kill`, as `docker kill`) stays down.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okr_cli.chaos import compose_plan
from okr_cli.chaos.compose_plan import Healthcheck, Machine, PortMap, Process
from okr_cli.supervisor import StartFailed
from okr_shared.embedded import EmbeddedPostgres, free_port, port_is_free
from okr_shared.embedded.base import log_tail, stop_process
from okr_shared.embedded.postgres import SUPERUSER
from okr_shared.private_files import write_private

CHECK_EVERY_S = 1.0
FIRST_PAUSE_S, LONGEST_PAUSE_S, RESET_AFTER_S = 0.1, 60.0, 10.0  # Docker's restart back-off
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 20_000
RESTARTED = {"always", "unless-stopped", "on-failure"}
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


@dataclass
class Instance:
    spec: Process
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    postgres: EmbeddedPostgres | None = None
    stopped: bool = False  # by hand: the restart policy leaves it down
    started_at: float = 0.0
    pause_s: float = 0.0
    restart_at: float | None = None
    restarts: int = 0

    def exit_code(self) -> int | None:
        process = self.postgres.process if self.postgres else self.popen
        return None if process is None else process.poll()


@dataclass
class Topology:
    """The running instances of a plan; `environment` is what compose interpolated with."""

    processes: list[Process]
    environment: Mapping[str, str]
    data: Path
    instances: dict[str, Instance] = field(default_factory=dict)
    healthy: list[str] = field(default_factory=list)  # instances whose healthcheck passed

    def __post_init__(self) -> None:
        logs = self.data / "logs"
        for spec in self.processes:
            self.instances[spec.instance] = Instance(spec, logs / f"{spec.instance}.log")

    def of(self, service: str) -> list[Instance]:
        return [i for i in self.instances.values() if i.spec.service == service]

    async def up(self) -> None:
        events = {(p.service, how): asyncio.Event() for p in self.processes for how in CONDITIONS}
        awaited = {(dep, how) for p in self.processes for dep, how in p.depends_on.items()}
        services = dict.fromkeys(p.service for p in self.processes)
        tasks = [asyncio.create_task(self._bring_up(s, events, awaited)) for s in services]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _bring_up(
        self,
        service: str,
        events: dict[tuple[str, str], asyncio.Event],
        awaited: set[tuple[str, str]],
    ) -> None:
        instances = self.of(service)
        for dependency, condition in instances[0].spec.depends_on.items():
            if (dependency, condition) not in events:
                raise StartFailed(f"{service}: depends on {dependency} ({condition}): unknown")
            await events[dependency, condition].wait()
        for instance in instances:
            await self._start(instance)
        events[service, "service_started"].set()
        if (service, "service_completed_successfully") in awaited:
            for instance in instances:
                code = await asyncio.to_thread(self._wait_exit, instance)
                if code != 0:
                    raise StartFailed(self._failure(instance, f"exited with code {code}"))
            events[service, "service_completed_successfully"].set()
        if instances[0].spec.healthcheck:
            await asyncio.gather(*(self._until_healthy(i) for i in instances))
            events[service, "service_healthy"].set()
        elif (service, "service_healthy") in awaited:
            raise StartFailed(f"{service}: others wait for it to be healthy, but it has no check")

    async def _start(self, instance: Instance) -> None:
        spec = instance.spec
        spec.folder.mkdir(parents=True, exist_ok=True)
        instance.log.parent.mkdir(parents=True, exist_ok=True)
        instance.started_at = time.monotonic()
        if spec.kind == "postgres":
            instance.postgres = instance.postgres or _postgres(spec, instance.log)
            await asyncio.to_thread(instance.postgres.start)
        else:
            self._spawn(instance)

    def _spawn(self, instance: Instance) -> None:
        spec = instance.spec
        with instance.log.open("ab") as log:
            instance.popen = subprocess.Popen(  # noqa: S603 - compose.yaml's own commands
                spec.argv,
                env=dict(spec.env),
                cwd=spec.folder,  # an empty folder: no stray .env is read, as in the image
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_exit(self, instance: Instance) -> int:
        assert instance.popen is not None
        return instance.popen.wait()

    async def _until_healthy(self, instance: Instance) -> None:
        check = instance.spec.healthcheck
        assert check is not None
        deadline = time.monotonic() + check.start_period_s + check.retries * check.interval_s
        problem: str | None = "no check ran"
        while time.monotonic() < deadline:
            if (code := instance.exit_code()) is not None:
                raise StartFailed(self._failure(instance, f"exited with code {code}"))
            if not (problem := await _check(check)):
                self.healthy.append(instance.spec.instance)
                return
            await asyncio.sleep(CHECK_EVERY_S)
        raise StartFailed(self._failure(instance, f"never healthy: {problem}"))

    def _failure(self, instance: Instance, what: str) -> str:
        tail = log_tail(instance.log)
        return f"{instance.spec.instance} {what}; the end of {instance.log}:\n{tail}"

    async def keep_restarting(self) -> None:
        """The restart policies, until cancelled."""
        while True:
            now = time.monotonic()
            for instance in self.instances.values():
                if instance.restart_at is not None and now >= instance.restart_at:
                    instance.restart_at = None
                    instance.restarts += 1
                    await self._start(instance)
                elif (
                    instance.restart_at is None
                    and not instance.stopped
                    and instance.spec.restart in RESTARTED
                    and (code := instance.exit_code()) is not None
                    and not (instance.spec.restart == "on-failure" and code == 0)
                ):
                    ran_s = now - instance.started_at
                    pause = FIRST_PAUSE_S if ran_s >= RESET_AFTER_S else instance.pause_s * 2
                    instance.pause_s = min(max(pause, FIRST_PAUSE_S), LONGEST_PAUSE_S)
                    instance.restart_at = now + instance.pause_s
            await asyncio.sleep(0.05)

    def crash(self, name: str) -> None:
        """SIGKILL from outside, as the kernel's OOM killer would: the policy restarts it."""
        instance = self.instances[name]
        process = instance.postgres.process if instance.postgres else instance.popen
        stop_process(process, signal.SIGKILL, 5.0)

    def kill(self, name: str) -> None:
        """`docker kill`: SIGKILL, and the instance stays down."""
        self.instances[name].stopped = True
        self.crash(name)

    def down(self) -> None:
        """Stop in reverse order of the file (dependants first): SIGTERM, or PostgreSQL's fast
        shutdown, then SIGKILL after 10 s, as `docker compose down`."""
        for instance in reversed(list(self.instances.values())):
            instance.stopped = True
            if instance.postgres:
                instance.postgres.stop()
            else:
                stop_process(instance.popen, signal.SIGTERM, 10.0)


def _postgres(spec: Process, log: Path) -> EmbeddedPostgres:
    """The image's entrypoint: a cluster whose superuser and database are compose's."""
    env = spec.env
    if env.get("POSTGRES_USER", "postgres") != SUPERUSER:
        raise StartFailed(f"{spec.instance}: POSTGRES_USER must be {SUPERUSER} here")
    password_file = spec.folder / "postgres-password"
    if not password_file.exists():  # read when the cluster is first made: compose's password
        write_private(password_file, env["POSTGRES_PASSWORD"])
    return EmbeddedPostgres(
        Path(env["PGDATA"]),
        port=int(env["PGPORT"]),
        database=env.get("POSTGRES_DB", SUPERUSER),
        password_file=password_file,
        log_file=log,
    )


async def _check(check: Healthcheck) -> str | None:
    """None if healthy, else why not."""
    if check.url:
        return await asyncio.to_thread(_http_get, check.url, check.timeout_s)
    process = await asyncio.create_subprocess_exec(
        *check.argv,
        env=dict(check.env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), check.timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return f"{check.argv[0]} took over {check.timeout_s:.0f} s"
    if process.returncode:
        return stderr.decode(errors="replace").strip() or f"exit code {process.returncode}"
    return None


def _http_get(url: str, timeout_s: float) -> str | None:
    """wget's test: a 2xx answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310 - loopback
            return None if 200 <= answer.status < 300 else f"{url} answered {answer.status}"
    except (urllib.error.URLError, OSError) as err:
        return f"{url}: {err}"


def loopback_ports() -> Callable[[], int]:
    """Free loopback ports below the kernel's ephemeral range, each handed out once.

    The plan hands out every port before anything listens, and the services bind theirs many
    seconds later (after PostgreSQL and the migrations). A port from the ephemeral range can
    meanwhile become the source port of some outgoing connection on this busy machine (once a
    gateway exited at start with code 3, most likely so); below that range only a listener
    takes a port."""
    try:
        ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32_768
    if ephemeral <= LOWEST_PORT + 1_000:
        return free_port
    given: set[int] = set()
    pick = random.Random()

    def allocate() -> int:
        while True:
            port = pick.randrange(LOWEST_PORT, ephemeral)
            if port not in given and port_is_free(port):
                given.add(port)
                return port

    return allocate


@contextlib.asynccontextmanager
async def running(compose: dict[str, Any] | None = None) -> AsyncIterator[Topology]:
    """compose.yaml (or `compose`) up on loopback with fresh passwords, restart policies
    applied while in the block; everything stopped and removed after it."""
    compose = compose if compose is not None else compose_plan.load()
    environment = compose_plan.generated_environment(compose)
    data = Path(tempfile.mkdtemp(prefix="okr-compose-"))
    processes = compose_plan.plan(
        compose, environment, data=data, ports=PortMap(loopback_ports()), machine=Machine.this_one()
    )
    topology = Topology(processes, environment, data)
    restarting: asyncio.Task[None] | None = None
    try:
        await topology.up()
        restarting = asyncio.create_task(topology.keep_restarting())
        yield topology
    finally:
        if restarting:
            restarting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await restarting
        await asyncio.to_thread(topology.down)
        shutil.rmtree(data, ignore_errors=True)
