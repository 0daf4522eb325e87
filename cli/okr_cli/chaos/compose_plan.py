"""compose.yaml as processes on one machine's loopback: what the `compose-topology` chaos
scenario runs (compose_run.py starts it). A pure plan: it reads the file's services, commands,
environment, replicas, dependencies, healthchecks and restart policies, and starts nothing, so
a unit test can show that what runs follows the file.

Only what one machine forces differs from Docker, each rewrite applied to the file's strings
before `${VAR}` interpolation (so no password is ever rewritten):

- service host names (`nats-1:6222`, `postgres:5432`) → 127.0.0.1 and the loopback port that
  container port is mapped to: containers share no network here;
- every container port (NATS's 4222, 6222 and 8222, PostgreSQL's 5432, OKR_GATEWAY_PORT,
  OKR_METRICS_PORT, and the ports compose publishes) → a free loopback port of that process's
  own: containers each have their own ports, processes on one machine would clash;
- 0.0.0.0 → 127.0.0.1: nothing here listens on other interfaces;
- nats-server also gets `--addr 127.0.0.1 --port <its 4222>`: in its image it listens on every
  interface on the default port, which compose's command does not name;
- paths inside a container → folders: a bind mount's file in the repository (deploy/nats.conf),
  a named volume's temp folder, else a temp folder of the instance's own (its container's
  filesystem: the gateway's OKR_DATA_DIR);
- OKR_INSTANCE = the instance's name in each okr process: in a container, the hostname tells
  `okr-healthcheck` which instance is its own, and on one machine every process has the same;
- the image's ENV (Dockerfile): PATH with the venv's scripts first, PYTHONUNBUFFERED=1; a
  command's program (`okr`, `okr-progress`, `okr-healthcheck`) → the venv's console script, and
  `pg_isready` → the PostgreSQL wheel's, told the server's address through PGHOST and PGPORT
  (in its container it finds the server on its default socket); the NATS healthcheck's `wget`
  → the same HTTP GET (see compose_run.py).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import sysconfig
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from okr_shared.embedded.nats import nats_server_binary
from okr_shared.embedded.postgres import wheel_bin
from okr_shared.nats_callout import account_public_key, new_account_seed

COMPOSE_FILE = Path(__file__).resolve().parents[3] / "compose.yaml"
NATS_CLIENT_PORT = 4222  # nats-server's default, which compose's command leaves implicit
POSTGRES_PORT = 5432
POSTGRES_DATA = "/var/lib/postgresql/18/docker"  # where the PostgreSQL 18 image keeps it
LOOPBACK = "127.0.0.1"
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_]\w*))"
)
ANY_INTERFACE = re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d.])")
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


class PlanError(ValueError):
    """compose.yaml says something this runner cannot do on one machine, or misses a variable."""


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file with its anchors and merge keys (`<<: *okr-env`) resolved."""
    import yaml  # noqa: PLC0415 - a dev dependency, needed by this scenario only

    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def interpolate(text: str, environment: Mapping[str, str]) -> str:
    """Compose's `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
    `${VAR?error}` and `$$`."""

    def one(found: re.Match[str]) -> str:
        if found["escaped"]:
            return "$"
        name = found["braced"] or found["named"]
        value, op, arg = environment.get(name), found["op"] or "", found["arg"] or ""
        missing = value is None or (op.startswith(":") and not value)
        if missing and op.endswith("-"):
            return arg
        if missing and op.endswith("?"):
            raise PlanError(f"{name}: {arg or 'required'}")
        return value or ""

    return VARIABLE.sub(one, text)


def required_variables(compose: Mapping[str, Any]) -> set[str]:
    """The variables the file uses without a default: what an operator must set."""
    return {
        found["braced"] or found["named"]
        for text in _strings(compose)
        for found in VARIABLE.finditer(text)
        if not found["escaped"] and not (found["op"] or "").endswith("-")
    }


# Made together, as `okr integrations keygen` makes them: a seed and its public key.
KEY_PAIRS = {"OKR_NATS_CALLOUT_SEED": "OKR_NATS_CALLOUT_ISSUER"}


def generated_environment(compose: Mapping[str, Any]) -> dict[str, str]:
    """A fresh password for each required variable, as the file's header asks for them
    (`openssl rand -hex 24`): URL-safe, long enough for OKR_JWT_SECRET; and a fresh nkey pair
    for each pair of KEY_PAIRS."""
    environment = {name: secrets.token_hex(24) for name in sorted(required_variables(compose))}
    for seed_name, public_name in KEY_PAIRS.items():
        if seed_name in environment or public_name in environment:
            seed = new_account_seed()
            environment.update({seed_name: seed, public_name: account_public_key(seed)})
    return environment


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class Machine:
    """Where this machine has the programs the images have."""

    scripts: Path  # the venv's console scripts: /app/.venv/bin in the image
    nats_server: Path
    postgres_bin: Path

    @classmethod
    def this_one(cls) -> Machine:
        return cls(Path(sysconfig.get_path("scripts")), nats_server_binary(), wheel_bin())

    def program(self, name: str) -> Path:
        for folder in (self.scripts, self.postgres_bin):
            if (folder / name).exists():
                return folder / name
        raise PlanError(f"{name}: no such program in {self.scripts} or {self.postgres_bin}")

    def base_env(self) -> dict[str, str]:
        """The image's ENV that matters here (Dockerfile)."""
        return {"PATH": f"{self.scripts}:{os.defpath}", "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Healthcheck:
    argv: tuple[str, ...]  # a program and its arguments; empty for an HTTP GET
    url: str  # wget's: healthy when it answers 2xx
    env: Mapping[str, str]
    interval_s: float
    timeout_s: float
    retries: int
    start_period_s: float


@dataclass(frozen=True)
class Process:
    service: str
    instance: str  # the service's name, or `<service>-<n>` for its replicas
    kind: str  # "nats", "postgres" (an EmbeddedPostgres), or "program"
    argv: tuple[str, ...]
    env: Mapping[str, str]
    folder: Path  # its working directory and its container's own filesystem
    depends_on: Mapping[str, str]  # service → condition
    restart: str
    healthcheck: Healthcheck | None
    published: tuple[int, ...]  # the container ports compose publishes
    ports: Mapping[int, int] = field(default_factory=dict)  # container port → loopback port


@dataclass
class PortMap:
    """Each instance's container ports on free loopback ports, mapped once."""

    allocate: Callable[[], int]
    mapped: dict[str, dict[int, int]] = field(default_factory=dict)

    def __call__(self, instance: str, port: int) -> int:
        own = self.mapped.setdefault(instance, {})
        if port not in own:
            own[port] = self.allocate()
        return own[port]


def plan(
    compose: Mapping[str, Any],
    environment: Mapping[str, str],
    *,
    data: Path,
    ports: PortMap,
    machine: Machine,
    project: Path = COMPOSE_FILE.parent,
) -> list[Process]:
    """Every process compose.yaml describes (a process per replica), in the file's order."""
    services: Mapping[str, Any] = compose["services"]
    names = {name: _instances(name, spec) for name, spec in services.items()}
    context = _Context(services, names, environment, data, ports, machine, project)
    processes = [
        context.process(name, spec, instance)
        for name, spec in services.items()
        for instance in names[name]
    ]
    return [replace(p, ports=dict(ports.mapped.get(p.instance, {}))) for p in processes]


def _instances(name: str, spec: Mapping[str, Any]) -> list[str]:
    count = int((spec.get("deploy") or {}).get("replicas", 1))
    return [name] if count == 1 else [f"{name}-{n}" for n in range(1, count + 1)]


@dataclass(frozen=True)
class _Context:
    services: Mapping[str, Any]
    instances: Mapping[str, list[str]]
    environment: Mapping[str, str]
    data: Path
    ports: PortMap
    machine: Machine
    project: Path

    def process(self, service: str, spec: Mapping[str, Any], instance: str) -> Process:
        folder = self.data / "containers" / instance
        image = str(spec.get("image", ""))
        env = {**self.machine.base_env(), **self.env(spec, instance, folder)}
        args = [self.arg(a, prev, spec, instance, folder) for prev, a in _pairs(_command(spec))]
        if image.startswith("nats:"):
            kind, argv = "nats", [str(self.machine.nats_server), *args]
            argv += ["--addr", LOOPBACK, "--port", str(self.ports(instance, NATS_CLIENT_PORT))]
        elif image.startswith("postgres:"):
            kind, argv = "postgres", []
            env["PGDATA"] = self.path(POSTGRES_DATA, spec, folder)
            env["PGPORT"] = str(self.ports(instance, POSTGRES_PORT))
        else:
            if not args:
                raise PlanError(f"{service}: no command")
            kind, argv = "program", [str(self.machine.program(args[0])), *args[1:]]
            env["OKR_INSTANCE"] = instance
        return Process(
            service=service,
            instance=instance,
            kind=kind,
            argv=tuple(argv),
            env=env,
            folder=folder,
            depends_on=_depends_on(spec),
            restart=str(spec.get("restart", "no")),
            healthcheck=self.healthcheck(spec, instance, folder, env),
            published=tuple(_published(spec)),
        )

    def env(self, spec: Mapping[str, Any], instance: str, folder: Path) -> dict[str, str]:
        raw = spec.get("environment") or {}
        if isinstance(raw, list):
            raw = dict(item.partition("=")[::2] for item in raw)
        env = {}
        for name, value in raw.items():
            if value is None:  # `NAME:` alone: taken from the environment compose runs in
                if name in self.environment:
                    env[name] = self.environment[name]
                continue
            text = str(value)
            if name.endswith("_PORT") and text.isdigit():
                text = str(self.ports(instance, int(text)))
            else:
                text = self.rewrite(text, spec, instance, folder)
            env[name] = interpolate(text, self.environment)
        return env

    def arg(
        self, arg: str, previous: str, spec: Mapping[str, Any], instance: str, folder: Path
    ) -> str:
        if previous.startswith("-") and previous.endswith("port") and arg.isdigit():
            return str(self.ports(instance, int(arg)))
        return interpolate(self.rewrite(arg, spec, instance, folder), self.environment)

    def rewrite(self, text: str, spec: Mapping[str, Any], instance: str, folder: Path) -> str:
        if text.startswith("/"):
            return self.path(text, spec, folder)
        hosts = "|".join(re.escape(h) for h in sorted(self.services, key=len, reverse=True))
        address = rf"(?<![\w.-])(?P<host>0\.0\.0\.0|127\.0\.0\.1|localhost|{hosts}):(?P<port>\d+)\b"

        def mapped(found: re.Match[str]) -> str:
            host = found["host"]
            target = instance if host in {"0.0.0.0", LOOPBACK, "localhost"} else host  # noqa: S104
            if target == host and self.instances[host] != [host]:
                raise PlanError(f"{host}: {len(self.instances[host])} replicas share the name")
            return f"{LOOPBACK}:{self.ports(target, int(found['port']))}"

        return ANY_INTERFACE.sub(LOOPBACK, re.sub(address, mapped, text))

    def path(self, path: str, spec: Mapping[str, Any], folder: Path) -> str:
        """A path in the container: in the longest volume that holds it, else the instance's."""
        for source, target in sorted(_volumes(spec), key=lambda v: -len(v[1])):
            if path == target or path.startswith(target.rstrip("/") + "/"):
                rest = path[len(target) :].lstrip("/")
                if source.startswith((".", "/")):  # a bind mount of the repository's
                    return str((self.project / source / rest).resolve())
                return str(self.data / "volumes" / source / rest)
        return str(folder / path.lstrip("/"))

    def healthcheck(
        self, spec: Mapping[str, Any], instance: str, folder: Path, env: Mapping[str, str]
    ) -> Healthcheck | None:
        check = spec.get("healthcheck")
        if not check or check.get("disable"):
            return None
        test = check["test"]
        if not isinstance(test, list) or test[0] != "CMD":
            raise PlanError(f"{instance}: only a healthcheck test of the form [CMD, ...] runs here")
        args = [self.arg(a, prev, spec, instance, folder) for prev, a in _pairs(test[1:])]
        argv: tuple[str, ...] = ()
        url, check_env = "", dict(env)
        if args[0] == "wget":
            url = args[-1]
        else:
            argv = (str(self.machine.program(args[0])), *args[1:])
        if "PGPORT" in env:  # pg_isready: the server's address, which a container need not say
            check_env.update(PGHOST=LOOPBACK, PGPORT=env["PGPORT"])
        return Healthcheck(
            argv=argv,
            url=url,
            env=check_env,
            interval_s=_seconds(check.get("interval", "30s")),
            timeout_s=_seconds(check.get("timeout", "30s")),
            retries=int(check.get("retries", 3)),
            start_period_s=_seconds(check.get("start_period", "0s")),
        )


def _command(spec: Mapping[str, Any]) -> list[str]:
    command = spec.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    """Each argument with the one before it (a flag, maybe)."""
    return list(zip(["", *args], args, strict=False))


def _depends_on(spec: Mapping[str, Any]) -> dict[str, str]:
    depends = spec.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: str(how.get("condition", "service_started")) for name, how in depends.items()}


def _volumes(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume in the short form `source:target[:mode]`."""
    found = []
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, str) or ":" not in volume:
            raise PlanError(f"volume {volume!r}: only source:target[:mode] runs here")
        source, target = volume.split(":")[:2]
        found.append((source, target))
    return found


def _published(spec: Mapping[str, Any]) -> list[int]:
    return [int(str(port).split(":")[-1].split("/")[0]) for port in spec.get("ports") or []]


def _seconds(duration: str | int | float) -> float:
    """Compose's durations: `10s`, `1m30s`, `500ms`."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise PlanError(f"duration {duration!r}: write it as compose does, e.g. 10s or 1m30s")
    return sum(float(n) * SECONDS[u] for n, u in parts)
