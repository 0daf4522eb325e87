"""No Docker engine runs here, so check compose.yaml and the Dockerfile against the code: every
command, module and environment variable they name must exist, the images must be the versions
the tests run, and the deployment must keep its shape (least privilege, healthchecks)."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import typer.main
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from okr_cli.app import app as cli_app
from okr_cli.config import CliSettings
from okr_gateway.settings import GatewaySettings
from okr_kpis.settings import KpisSettings
from okr_objectives.settings import ObjectivesSettings
from okr_progress.settings import ProgressSettings
from okr_shared import subjects
from okr_shared.embedded.nats import nats_server_binary
from okr_shared.embedded.postgres import wheel_bin
from okr_webhooks.settings import WebhooksSettings
from tests.support import compose_file, infra

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: list[type[BaseSettings]] = [
    CliSettings,
    GatewaySettings,
    ObjectivesSettings,
    KpisSettings,
    ProgressSettings,
    WebhooksSettings,
]


def compose() -> dict[str, Any]:
    return compose_file.load()


def console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = {}
    for pyproject in [ROOT / "pyproject.toml", *ROOT.glob("services/*/pyproject.toml")]:
        scripts.update(tomllib.loads(pyproject.read_text())["project"].get("scripts", {}))
    return scripts


def known_variables() -> set[str]:
    names = set()
    for settings in SETTINGS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        for name, field in settings.model_fields.items():
            if isinstance(field.validation_alias, AliasChoices):
                names.update(str(choice) for choice in field.validation_alias.choices)
            else:
                names.add(f"{prefix}{name}".upper())
    return names


def okr_services() -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in compose()["services"].items()
        if spec.get("image") == "okr:latest"
    }


def test_every_command_is_a_real_entry_point() -> None:
    scripts = console_scripts()
    cli_commands = typer.main.get_command(cli_app).commands  # type: ignore[attr-defined]
    services = okr_services()
    assert set(services) == {"migrate", "objectives", "kpis", "progress", "webhooks", "gateway"}
    commands = [(name, spec["command"]) for name, spec in services.items()]
    commands += [(name, spec["healthcheck"]["test"][1:]) for name, spec in healthchecked()]
    for name, (program, *args) in commands:
        assert program in scripts, f"{name}: {program} is not a console script"
        module, _, function = scripts[program].partition(":")
        assert callable(getattr(importlib.import_module(module), function))
        if program == "okr":
            assert args[0] in cli_commands, f"{name}: okr has no command {args[0]}"


def healthchecked() -> list[tuple[str, dict[str, Any]]]:
    return [(name, spec) for name, spec in okr_services().items() if name != "migrate"]


def test_every_service_has_a_readiness_healthcheck() -> None:
    for name, spec in healthchecked():
        assert spec["healthcheck"]["test"] == ["CMD", "okr-healthcheck", name], name


def test_every_variable_is_read_by_the_code() -> None:
    known = known_variables()
    for name, spec in okr_services().items():
        for variable in spec["environment"]:
            assert variable in known, f"{name}: no settings class reads {variable}"


def test_the_images_are_the_versions_the_tests_run() -> None:
    """compose.yaml names the versions; the embedded servers of uv.lock must be the same
    NATS minor version and PostgreSQL major version, and the tests' Docker mode runs these."""
    nats_version = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"v(\d+\.\d+)", nats_version)[1] == compose_file.image_version("nats-1")  # type: ignore[index]
    postgres_version = subprocess.run(
        [wheel_bin() / "postgres", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"(\d+)\.", postgres_version)[1] == compose_file.image_version("postgres")  # type: ignore[index]
    nodes = [
        spec["image"] for name, spec in compose()["services"].items() if name.startswith("nats-")
    ]
    assert set(nodes) == {compose_file.image("nats-1")}
    docker_mode = inspect.getsource(infra.docker_servers)
    assert 'compose_file.image("nats-1")' in docker_mode
    assert 'compose_file.image("postgres")' in docker_mode


def test_each_service_connects_as_its_own_role() -> None:
    """Least privilege: only the migrate job has the owner's password."""
    services = okr_services()
    assert "okr:${OKR_POSTGRES_PASSWORD" in services["migrate"]["environment"]["OKR_DATABASE_URL"]
    for name in ("objectives", "kpis", "progress", "webhooks", "gateway"):
        environment = services[name]["environment"]
        url = environment["OKR_DATABASE_URL"]
        assert url.startswith(f"postgresql://okr_{name}:${{OKR_{name.upper()}_DATABASE_PASSWORD}}@")
        assert url.endswith("/okr")  # role names are <database>_<service>
        assert "OKR_POSTGRES_PASSWORD" not in json.dumps(environment)
        assert f"OKR_{name.upper()}_DATABASE_PASSWORD" in services["migrate"]["environment"]


def test_the_image_keeps_dependencies_code_and_runtime_user_apart() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY")]
    syncs = [n for n, line in enumerate(lines) if "uv sync" in line]
    first_code = min(
        n for n, line in enumerate(lines) if line.startswith(("COPY shared ", "COPY cli"))
    )
    assert syncs[0] < first_code and "--no-install-workspace" in lines[syncs[0]]
    # Neither dev dependencies nor the embedded servers (the default groups) go into the image.
    assert all("--no-default-groups" in lines[n] and "--frozen" in lines[n] for n in syncs)
    default_groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]
    assert set(default_groups["default-groups"]) == {"dev", "embedded"}
    assert not any(source in {".", "tests", "tests/"} for sources in copies for source in sources)
    assert "tests" in (ROOT / ".dockerignore").read_text().split()
    runs = [n for n, line in enumerate(lines) if line.startswith("RUN")]
    assert lines.index("USER okr") > max(runs), "the code must be installed before USER okr"
    assert not any("chown" in line and "/app" in line for line in lines)


def test_the_deployment_shape() -> None:
    services = compose()["services"]
    assert services["progress"]["deploy"]["replicas"] == 2
    assert services["webhooks"]["deploy"]["replicas"] == 2
    nats_nodes = [n for n in services if n.startswith("nats-")]
    assert len(nats_nodes) == 3
    for node in nats_nodes:
        assert "--jetstream" in services[node]["command"]
        assert any(volume.endswith(":/data") for volume in services[node]["volumes"])
    # PostgreSQL 18's images keep PGDATA under /var/lib/postgresql/18/docker.
    assert "postgres:/var/lib/postgresql" in services["postgres"]["volumes"]
    assert (
        services["objectives"]["depends_on"]["migrate"]["condition"]
        == "service_completed_successfully"
    )
    for node in nats_nodes:
        assert services[node]["command"][:2] == ["--config", "/etc/nats/okr.conf"]
        assert "./deploy/nats.conf:/etc/nats/okr.conf:ro" in services[node]["volumes"]


def test_the_clusters_hr_user_has_the_same_permissions_as_the_embedded_one() -> None:
    conf = (ROOT / "deploy" / "nats.conf").read_text()
    allowed = re.findall(r"allow: \[([^\]]*)\]", conf)
    assert [json.loads(f"[{group}]") for group in allowed] == [
        list(subjects.HR_PUBLISH),
        list(subjects.HR_SUBSCRIBE),
    ]
