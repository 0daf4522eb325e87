"""The compose-topology chaos scenario runs what compose.yaml says (okr_cli.chaos.compose_plan):
its commands, environment, replicas, dependencies and healthchecks come from the file, so a
change to the file changes what runs, and only the stated deviations differ."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from okr_cli.chaos import compose_plan
from okr_cli.chaos.compose_plan import Machine, PlanError, PortMap, Process
from okr_shared.nats_callout import account_public_key
from tests.support import compose_file

DATA = Path("/tmp/okr-compose-plan")  # never created: the plan starts nothing
ADDED_BY_THE_RUNNER = {"PATH", "PYTHONUNBUFFERED", "OKR_INSTANCE", "PGDATA", "PGPORT"}


def plan_of(compose: dict[str, Any]) -> tuple[list[Process], dict[str, str]]:
    environment = compose_plan.generated_environment(compose)
    processes = compose_plan.plan(
        compose,
        environment,
        data=DATA,
        ports=PortMap(itertools.count(20_000).__next__),
        machine=Machine.this_one(),
    )
    return processes, environment


def edited(tmp_path: Path, *edits: tuple[str, str]) -> dict[str, Any]:
    """compose.yaml with some text replaced, loaded as the runner loads it."""
    text = compose_file.PATH.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "compose.yaml").write_text(text)
    return compose_plan.load(tmp_path / "compose.yaml")


def by_instance(processes: list[Process]) -> dict[str, Process]:
    return {p.instance: p for p in processes}


def test_every_service_and_replica_runs_with_the_files_command() -> None:
    compose = compose_file.load()
    processes, _ = plan_of(compose)
    expected = []
    for name, spec in compose["services"].items():
        replicas = spec.get("deploy", {}).get("replicas", 1)
        expected += [name] if replicas == 1 else [f"{name}-{n}" for n in range(1, replicas + 1)]
    assert [p.instance for p in processes] == expected
    assert [p.instance for p in processes if p.service == "progress"] == [
        "progress-1",
        "progress-2",
    ]
    for process in processes:
        spec = compose["services"][process.service]
        assert process.depends_on == {
            name: how["condition"] for name, how in spec.get("depends_on", {}).items()
        }
        assert process.restart == spec.get("restart", "no")
        if process.kind == "program":
            program, *args = spec["command"]
            assert Path(process.argv[0]) == Path(Machine.this_one().scripts, program)
            assert list(process.argv[1:]) == args
            assert process.env["OKR_INSTANCE"] == process.instance
        if process.kind == "nats":
            assert process.argv[0] == str(Machine.this_one().nats_server)
            given = spec["command"]
            for said, runs in zip(given, process.argv[1 : len(given) + 1], strict=True):
                assert runs == said or said.startswith("/") or said.isdigit() or ":" in said
            assert process.argv[len(given) + 1 :][:3] == ("--addr", "127.0.0.1", "--port")


def test_the_environment_is_composes_but_for_the_stated_rewrites() -> None:
    compose = compose_file.load()
    processes, environment = plan_of(compose)
    # Loopback addresses with a port are an instance's own container ports: rewritten too.
    hosts = re.compile(
        r"0\.0\.0\.0|localhost:|127\.0\.0\.1:|"
        + "|".join(re.escape(f"{s}:") for s in compose["services"])
    )
    for process in processes:
        raw = compose["services"][process.service].get("environment", {})
        assert set(process.env) - ADDED_BY_THE_RUNNER == set(raw), process.instance
        for name, value in raw.items():
            rewritten = name.endswith("_PORT") or value.startswith("/") or hosts.search(value)
            if not rewritten:
                want = compose_plan.interpolate(value, environment)
                assert process.env[name] == want, f"{process.instance} {name}"
    assert environment.keys() == {
        "OKR_POSTGRES_PASSWORD",
        "OKR_OBJECTIVES_DATABASE_PASSWORD",
        "OKR_KPIS_DATABASE_PASSWORD",
        "OKR_PROGRESS_DATABASE_PASSWORD",
        "OKR_WEBHOOKS_DATABASE_PASSWORD",
        "OKR_GATEWAY_DATABASE_PASSWORD",
        "OKR_JWT_SECRET",
        "OKR_ADMIN_PASSWORD",
        "OKR_NATS_SERVICE_PASSWORD",
        "OKR_NATS_HR_PASSWORD",
        "OKR_NATS_SYSTEM_PASSWORD",
        "OKR_NATS_CALLOUT_SEED",
        "OKR_NATS_CALLOUT_ISSUER",
    }  # the variables the file's header says to set
    # Made together: the issuer the NATS servers trust is the seed's public key.
    assert environment["OKR_NATS_CALLOUT_ISSUER"] == account_public_key(
        environment["OKR_NATS_CALLOUT_SEED"]
    )


def test_hosts_ports_and_paths_become_this_machines() -> None:
    processes, environment = plan_of(compose_file.load())
    named = by_instance(processes)
    everything = " ".join(" ".join([*p.argv, *p.env.values()]) for p in processes)
    assert "0.0.0.0" not in everything
    assert not re.search(r"(nats-\d|postgres):\d", everything)
    nodes = [p for p in processes if p.kind == "nats"]
    client_ports = [n.argv[n.argv.index("--port") + 1] for n in nodes]
    cluster_ports = [n.argv[n.argv.index("--cluster") + 1].rsplit(":", 1)[1] for n in nodes]
    service_password = environment["OKR_NATS_SERVICE_PASSWORD"]
    assert named["kpis"].env["OKR_NATS_URL"] == ",".join(
        f"nats://okr:{service_password}@127.0.0.1:{port}" for port in client_ports
    )
    for node in nodes:
        assert node.argv[node.argv.index("--routes") + 1] == ",".join(
            f"nats://127.0.0.1:{port}" for port in cluster_ports
        )
        assert node.argv[node.argv.index("--config") + 1] == str(
            compose_file.PATH.parent / "deploy" / "nats.conf"
        )
        assert node.argv[node.argv.index("--store_dir") + 1] == str(
            DATA / "volumes" / node.instance
        )
    postgres_port = named["postgres"].env["PGPORT"]
    assert named["gateway"].env["OKR_DATABASE_URL"].endswith(f"@127.0.0.1:{postgres_port}/okr")
    assert named["gateway"].env["OKR_DATA_DIR"] == str(DATA / "containers" / "gateway" / "data")
    every_port = [port for p in processes for port in p.ports.values()]
    assert len(every_port) == len(set(every_port)), "two processes on one port"
    assert (
        named["progress-1"].env["OKR_METRICS_PORT"] != named["progress-2"].env["OKR_METRICS_PORT"]
    )


def test_a_changed_file_changes_what_runs(tmp_path: Path) -> None:
    compose = edited(
        tmp_path,
        ("    deploy:\n      replicas: 2", "    deploy:\n      replicas: 3"),
        (
            '  OKR_NATS_REPLICAS: "3"\n',
            '  OKR_NATS_REPLICAS: "3"\n  OKR_EXTRA: ${OKR_EXTRA:?set}\n',
        ),
        ('command: ["okr-objectives"]', 'command: ["okr-objectives", "--verbose"]'),
        ('test: ["CMD", "okr-healthcheck", "kpis"]', 'test: ["CMD", "okr-healthcheck", "kpi"]'),
        ('"--name", "nats-3"', '"--name", "nats-three"'),
    )
    processes, environment = plan_of(compose)
    named = by_instance(processes)
    assert [p.instance for p in processes if p.service == "progress"] == [
        "progress-1",
        "progress-2",
        "progress-3",
    ]
    assert named["progress-3"].env["OKR_INSTANCE"] == "progress-3"
    for service in ("migrate", "objectives", "kpis", "progress-3", "gateway"):
        assert named[service].env["OKR_EXTRA"] == environment["OKR_EXTRA"] != ""
    assert named["objectives"].argv[1:] == ("--verbose",)
    kpis_check = named["kpis"].healthcheck
    assert kpis_check is not None
    assert kpis_check.argv[1:] == ("kpi",)
    assert "nats-three" in named["nats-3"].argv


def test_interpolation_as_compose_does_it() -> None:
    given = {"SET": "value", "EMPTY": ""}
    assert compose_plan.interpolate("${SET}/$SET/$$SET", given) == "value/value/$SET"
    assert compose_plan.interpolate("${EMPTY:-fallback}|${EMPTY-kept}", given) == "fallback|"
    assert compose_plan.interpolate("${UNSET:-a}${UNSET-b}${UNSET}", given) == "ab"
    with pytest.raises(PlanError, match="UNSET: set UNSET please"):
        compose_plan.interpolate("${UNSET:?set UNSET please}", given)
    with pytest.raises(PlanError, match="EMPTY"):
        compose_plan.interpolate("${EMPTY:?}", given)
    assert compose_plan.required_variables({"a": ["${A:?x}", "${B}", "${C:-d}", "$$E"]}) == {
        "A",
        "B",
    }
