"""Imports go one way: no service imports another; the CLI reaches the running system only
through its public contracts (HTTP, NATS subjects, `okr_shared`), importing a service's package
for nothing but its migrations (`SCHEMA`); the gateway's routes share helpers through modules of
their own, never through another route module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {path.name for path in (ROOT / "services").glob("*/okr_*") if path.is_dir()}


def imported(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def test_the_services_are_found() -> None:
    assert {"okr_gateway", "okr_kpis", "okr_objectives", "okr_progress", "okr_webhooks"} == SERVICES


def test_no_service_imports_another() -> None:
    found = []
    for package in (ROOT / "services").glob("*/okr_*"):
        for path in python_files(package):
            for name in imported(path):
                top = name.split(".")[0]
                if top in SERVICES and top != package.name:
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []


def test_the_cli_uses_no_service_internals() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(ROOT / "cli")
        for name in imported(path)
        if name.split(".")[0] in SERVICES and name not in SERVICES
    ]
    assert found == []


def test_gateway_routes_do_not_import_each_other() -> None:
    routes = ROOT / "services" / "gateway" / "okr_gateway" / "routes"
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(routes)
        for name in imported(path)
        if name.startswith("okr_gateway.routes.")
    ]
    assert found == []
