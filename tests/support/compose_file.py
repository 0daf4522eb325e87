"""compose.yaml as the tests read it: the one place that says which NATS and PostgreSQL
versions okr deploys (and so which the tests' Docker mode runs, and which the embedded
servers must match)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).resolve().parents[2] / "compose.yaml"


def load() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PATH.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load()["services"]
    return found


def image(service: str) -> str:
    return str(services()[service]["image"])


def image_version(service: str) -> str:
    """`nats:2.15-alpine` → `2.15`."""
    tag = image(service).partition(":")[2]
    found = re.match(r"\d+(\.\d+)*", tag)
    if not found:
        raise ValueError(f"{service}'s image {image(service)!r} names no version")
    return found.group(0)
