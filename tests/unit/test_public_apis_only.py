"""The frameworks through their public APIs only: no `obj._private` anywhere in the code or the
tests, but on `self` and `cls`. The reply client the RPC handlers once took from
`msg.raw_message._client`, and the NATS connection the pull consumer took from `js._nc`, are
what this keeps out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("services", "shared", "cli", "tests")
# Public despite the underscore: SQLAlchemy's Row._mapping, namedtuple's methods.
PUBLIC = {"_mapping", "_asdict", "_replace", "_fields", "_make"}


def private_attributes(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in PUBLIC:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_scan_finds_what_it_is_for() -> None:
    assert private_attributes("puller = Puller(js._nc)\nself._ok = 1") == [(1, "js._nc")]


def test_no_private_attribute_is_used() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if ".venv" not in path.parts
        for line, text in private_attributes(path.read_text())
    ]
    assert found == []
