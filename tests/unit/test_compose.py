"""No Docker engine runs here, so check compose.yaml against the code: every command, module and
environment variable it names must exist."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import typer.main
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from okr_cli.app import app as cli_app
from okr_cli.config import CliSettings
from okr_gateway.settings import GatewaySettings
from okr_kpis.settings import KpisSettings
from okr_objectives.settings import ObjectivesSettings
from okr_progress.settings import ProgressSettings
from okr_shared import subjects

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: list[type[BaseSettings]] = [
    CliSettings,
    GatewaySettings,
    ObjectivesSettings,
    KpisSettings,
    ProgressSettings,
]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


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
    assert set(services) == {"migrate", "objectives", "kpis", "progress", "gateway"}
    for name, spec in services.items():
        program, *args = spec["command"]
        assert program in scripts, f"{name}: {program} is not a console script"
        module, _, function = scripts[program].partition(":")
        assert callable(getattr(importlib.import_module(module), function))
        if program == "okr":
            assert args[0] in cli_commands, f"{name}: okr has no command {args[0]}"


def test_every_variable_is_read_by_the_code() -> None:
    known = known_variables()
    for name, spec in okr_services().items():
        for variable in spec["environment"]:
            assert variable in known, f"{name}: no settings class reads {variable}"


def test_the_deployment_shape() -> None:
    services = compose()["services"]
    assert services["progress"]["deploy"]["replicas"] == 2
    nats_nodes = [n for n in services if n.startswith("nats-")]
    assert len(nats_nodes) == 3
    for node in nats_nodes:
        assert "--jetstream" in services[node]["command"]
        assert any(volume.endswith(":/data") for volume in services[node]["volumes"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert (
        services["objectives"]["depends_on"]["migrate"]["condition"]
        == "service_completed_successfully"
    )
    for node in nats_nodes:
        assert services[node]["command"][:2] == ["--config", "/etc/nats/okr.conf"]
        assert "./deploy/nats.conf:/etc/nats/okr.conf:ro" in services[node]["volumes"]
    assert (ROOT / "Dockerfile").exists()
    assert "uv sync --frozen" in (ROOT / "Dockerfile").read_text()


def test_the_clusters_hr_user_has_the_same_permissions_as_the_embedded_one() -> None:
    conf = (ROOT / "deploy" / "nats.conf").read_text()
    allowed = re.findall(r"allow: \[([^\]]*)\]", conf)
    assert [json.loads(f"[{group}]") for group in allowed] == [
        list(subjects.HR_PUBLISH),
        list(subjects.HR_SUBSCRIBE),
    ]
