"""`okr up`: the embedded servers, the migrations, the services, and a clean stop.

Servers and services run in their own sessions (process groups), so Ctrl-C reaches only this
process, which then stops the services first and the servers last, in order.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from okr_cli.config import CliSettings
from okr_cli.migrate import MigrationFailed, kept_role_passwords, migrate_all, service_urls
from okr_cli.services import SERVICES
from okr_shared.embedded import (
    HR_USER,
    SERVICE_USER,
    SYSTEM_USER,
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    NatsUser,
    okr_users,
    port_is_free,
)
from okr_shared.embedded.base import log_tail
from okr_shared.nats_callout import account_public_key, new_account_seed
from okr_shared.private_files import secret_file

STOP_TIMEOUT_S = 10.0


class AlreadyRunning(RuntimeError):
    pass


class StartFailed(RuntimeError):
    """A service could not start: the message ends with the end of its log."""


@dataclass(frozen=True)
class Endpoints:
    nats_url: str  # what the services use
    hr_nats_url: str  # what HR systems use: may only publish KPI values
    database_url: str
    # The gateway's own: the integrations' auth callout key and the NATS system account's user.
    gateway_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Child:
    """One service process, restarted with a growing pause if it dies on its own."""

    instance: str
    module: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", self.module],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


@dataclass
class RunLock:
    """One `okr up` per data dir: an exclusive lock on a file that also says who holds it."""

    path: Path
    handle: IO[str] | None = None

    def acquire(self, info: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Private: it names the NATS and database URLs the services use, credentials included.
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            held = _json(handle.read())
            handle.close()
            raise AlreadyRunning(
                f"already running from {self.path.parent} (pid {held.get('pid', '?')}, "
                f"{held.get('gateway_url', 'starting')}); stop it first or set OKR_DATA_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(info))
        handle.flush()
        self.handle = handle

    def update(self, info: dict[str, Any]) -> None:
        assert self.handle is not None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(info))
        self.handle.flush()

    def release(self) -> None:
        if self.handle:
            with contextlib.suppress(OSError):
                self.handle.seek(0)
                self.handle.truncate()
            self.handle.close()
            self.handle = None


def read_run_info(data_dir: Path) -> dict[str, Any]:
    """What a running `okr up` wrote about itself, or {} when none runs."""
    with contextlib.suppress(OSError):
        return _json((data_dir / "okr.lock").read_text())
    return {}


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def replicas_from(
    settings: CliSettings,
    replicas: dict[str, int] | None = None,
    progress_workers: int | None = None,
) -> dict[str, int]:
    """Processes per service: `--replicas` over OKR_REPLICAS; progress workers from
    `--progress-workers`, else from those, else OKR_PROGRESS_WORKERS."""
    chosen = {**settings.replicas, **(replicas or {})}
    if progress_workers is not None:
        named = (replicas or {}).get("progress", progress_workers)
        if named != progress_workers:
            raise ValueError(
                f"--progress-workers {progress_workers} and --replicas progress={named} "
                "disagree: give one of them"
            )
        chosen["progress"] = progress_workers
    chosen.setdefault("progress", settings.progress_workers)
    return chosen


@dataclass
class System:
    settings: CliSettings
    replicas: dict[str, int] = field(default_factory=dict)  # service → processes (default 1)
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    children: list[Child] = field(default_factory=list)
    lock: RunLock | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # for the services (the benchmark's)
    service_database_urls: dict[str, str] = field(default_factory=dict)  # each service's own role

    @property
    def data(self) -> Path:
        return self.settings.data_path

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"

    def start_servers(self) -> Endpoints:
        """Embedded NATS and PostgreSQL unless the settings point at existing ones."""
        self.lock = RunLock(self.data / "okr.lock")
        self.lock.acquire({"pid": os.getpid()})
        nats_url = hr_url = self.settings.nats_url
        gateway_env: dict[str, str] = {}
        if not nats_url:
            seed = secret_file(self.data / "nats-callout-seed", make=new_account_seed)
            self.nats = EmbeddedNats(
                self.data / "nats",
                port=self.settings.nats_port,
                log_file=self.data / "logs" / "nats.log",
                users=self._nats_users(),
                system_password=secret_file(self.data / "nats-sys-password"),
                callout_issuer=account_public_key(seed),
            )
            self.nats.start()
            nats_url, hr_url = self.nats.url_for(SERVICE_USER), self.nats.url_for(HR_USER)
            gateway_env = {
                "OKR_NATS_CALLOUT_SEED": seed,
                "OKR_NATS_SYSTEM_URL": self.nats.url_for(SYSTEM_USER),
            }
        database_url = self.settings.database_url
        if not database_url:
            self.postgres = EmbeddedPostgres(
                self.data / "postgres",
                port=self.settings.postgres_port,
                password_file=self.data / "postgres-password",
                log_file=self.data / "logs" / "postgres.log",
            )
            self.postgres.start()
            database_url = self.postgres.url
        return Endpoints(nats_url, hr_url or nats_url, database_url, gateway_env)

    def _nats_users(self) -> list[NatsUser]:
        return okr_users(
            secret_file(self.data / "nats-okr-password"),
            secret_file(self.data / "nats-hr-password"),
        )

    def copies(self, service: str) -> int:
        return self.replicas.get(service, 1)

    def migrate(self, endpoints: Endpoints) -> None:
        """Blocking. Migrations as the owner; each service then connects as its own role, whose
        password is OKR_<SERVICE>_DATABASE_PASSWORD or else kept in the data dir."""
        try:
            passwords = self.settings.role_passwords() or kept_role_passwords(self.data)
            migrate_all(endpoints.database_url, passwords)
        except (MigrationFailed, ValueError) as err:
            raise StartFailed(str(err)) from None
        self.service_database_urls = service_urls(endpoints.database_url, passwords)

    def start_services(self, endpoints: Endpoints) -> None:
        port = self.settings.gateway_port
        if not port_is_free(port, self.settings.gateway_host):
            raise StartFailed(
                f"port {port} is already in use, so the gateway cannot listen there "
                "(set OKR_GATEWAY_PORT to a free port)"
            )
        logs = self.data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        base_env = {
            **os.environ,
            "OKR_NATS_URL": endpoints.nats_url,
            "OKR_DATABASE_URL": endpoints.database_url,
            "OKR_DATA_DIR": str(self.data),
            "OKR_GATEWAY_HOST": self.settings.gateway_host,
            "OKR_GATEWAY_PORT": str(self.settings.gateway_port),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        metrics_ports = self._metrics_ports()
        for spec in SERVICES:
            for n in range(1, self.copies(spec.name) + 1):
                instance = f"{spec.name}-{n}"
                env = {
                    **base_env,
                    "OKR_DATABASE_URL": self.service_database_urls.get(
                        spec.name, endpoints.database_url
                    ),
                    "OKR_INSTANCE": instance,
                    "OKR_GATEWAY_SHARE_PORT": str(self.copies("gateway") > 1).lower(),
                    "OKR_METRICS_PORT": str(next(metrics_ports)),
                    **(endpoints.gateway_env if spec.name == "gateway" else {}),
                }
                child = Child(instance, spec.module, env, logs / f"{instance}.log")
                child.start()
                self.children.append(child)
        assert self.lock is not None
        self.lock.update(
            {
                "pid": os.getpid(),
                "gateway_url": self.gateway_url,
                "nats_url": endpoints.nats_url,
                "hr_nats_url": endpoints.hr_nats_url,
                "database_url": endpoints.database_url,  # what `okr status` checks
            }
        )

    def _metrics_ports(self) -> Iterator[int]:
        """One /metrics port per process, counting up from the setting; all 0 when it is 0."""
        base = self.settings.metrics_port
        return itertools.count(base) if base else itertools.repeat(0)

    def check_started(self) -> None:
        """While starting, a service that exits is a configuration or environment problem:
        say which, with its last log lines, rather than restart it in a loop."""
        for child in self.children:
            code = child.exited()
            if code is not None:
                raise StartFailed(
                    f"{child.instance} exited with code {code} while starting; "
                    f"the end of {child.log_path}:\n{log_tail(child.log_path)}"
                )

    def watch(self, report: Callable[[str], None]) -> None:
        """Bring back whatever died: an embedded server at once, a service after a pause."""
        for server, name in ((self.nats, "NATS"), (self.postgres, "PostgreSQL")):
            if (
                server is not None
                and server.process is not None
                and server.process.poll() is not None
            ):
                report(
                    f"the embedded {name} server exited with code {server.process.returncode}; "
                    "starting it again"
                )
                try:
                    server.start()
                except EmbeddedServerError as err:
                    report(f"could not start {name} again: {err}")
        self.restart_crashed(report)

    def restart_crashed(self, report: Callable[[str], None]) -> None:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is None:
                continue
            if child.next_start == 0.0:
                healthy_for = now - child.started_at
                child.restarts = 0 if healthy_for > 60 else child.restarts + 1
                pause = min(2.0**child.restarts, 30.0)
                child.next_start = now + pause
                report(
                    f"{child.instance} exited with code {code}; restarting in {pause:.0f} s "
                    f"(log: {child.log_path})"
                )
            elif now >= child.next_start:
                child.next_start = 0.0
                child.start()

    def stop(self) -> None:
        """Services first, then the servers; safe to call more than once."""
        for child in self.children:
            if child.exited() is None and child.process:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.children.clear()
        if self.nats:
            self.nats.stop()
            self.nats = None
        if self.postgres:
            self.postgres.stop()
            self.postgres = None
        if self.lock:
            self.lock.release()
            self.lock = None
