"""What `okr up --replicas` and the roles' passwords accept, and that every list of the
services names the same ones."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from okr_cli import healthcheck
from okr_cli.chaos.scenarios import REPLICATED
from okr_cli.config import SERVICE_NAMES, CliSettings, parse_replicas
from okr_cli.migrate import MigrationFailed, migrate_all
from okr_cli.services import SERVICES
from okr_cli.supervisor import replicas_from
from okr_shared.embedded import free_port


def test_every_list_of_services_names_the_same_services() -> None:
    names = {spec.name for spec in SERVICES}
    assert set(SERVICE_NAMES) == names
    assert set(healthcheck.SERVICES) == names
    assert set(REPLICATED) == names
    role_fields = {f.removesuffix("_database_password") for f in CliSettings.model_fields}
    assert names <= role_fields


def test_replicas_are_parsed_and_each_mistake_named() -> None:
    assert parse_replicas("objectives=2, kpis=2,progress=3") == {
        "objectives": 2,
        "kpis": 2,
        "progress": 3,
    }
    assert parse_replicas("") == {}
    for text, says in [
        ("billing=2", "SERVICE one of objectives, kpis, progress, webhooks, gateway"),
        ("progress", "write SERVICE=N"),
        ("progress=0", "from 1 to 32"),
        ("progress=two", "whole number"),
        ("progress=33", "from 1 to 32"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_replicas(text)


def test_progress_workers_and_replicas_agree_or_say_so() -> None:
    settings = CliSettings(progress_workers=4, replicas="kpis=2")  # type: ignore[arg-type]
    assert replicas_from(settings) == {"kpis": 2, "progress": 4}
    assert replicas_from(settings, {"progress": 3}) == {"kpis": 2, "progress": 3}
    assert replicas_from(settings, None, 2) == {"kpis": 2, "progress": 2}
    assert replicas_from(settings, {"progress": 2}, 2)["progress"] == 2
    with pytest.raises(ValueError, match="disagree"):
        replicas_from(settings, {"progress": 3}, 2)


def test_role_passwords_are_all_four_or_none() -> None:
    assert CliSettings().role_passwords() is None
    every = {f"{name}_database_password": SecretStr(f"pw-{name}") for name in SERVICE_NAMES}
    assert CliSettings(**every).role_passwords() == {n: f"pw-{n}" for n in SERVICE_NAMES}
    some = {"kpis_database_password": SecretStr("pw")}
    with pytest.raises(ValueError, match="OKR_OBJECTIVES_DATABASE_PASSWORD") as raised:
        CliSettings(**some).role_passwords()
    assert "OKR_KPIS_DATABASE_PASSWORD" not in str(raised.value)


def test_a_database_name_no_role_can_be_named_after_is_one_line() -> None:
    passwords = dict.fromkeys(SERVICE_NAMES, "pw")
    with pytest.raises(MigrationFailed, match="use a database name of lower-case letters"):
        migrate_all("postgresql://okr:pw@127.0.0.1:1/My-Data", passwords)


def test_a_database_that_is_not_there_is_one_line() -> None:
    with pytest.raises(MigrationFailed, match="cannot reach the database"):
        migrate_all(f"postgresql://okr:pw@127.0.0.1:{free_port()}/okr")
