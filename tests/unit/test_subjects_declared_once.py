"""Every NATS subject is written once: in okr_shared/subjects.py, or, for an event published on
the subject its `type` names, in that event's class. Code elsewhere names the declaration, so a
subject cannot be spelt two ways."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from okr_shared import subjects

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS_MODULE = ROOT / "shared/okr_shared/subjects.py"
# The public webhook event names: some are the names of the events they pass on, a contract of
# their own (docs/WEBHOOKS.md), declared once there.
WEBHOOK_NAMES = ROOT / "shared/okr_shared/contracts/webhooks.py"
OUR_PREFIXES = ("rpc.", "dlq.", "kpi.values.", "progress.objective.", "objective.")


def declared_subjects() -> set[str]:
    found = {v for v in vars(subjects).values() if isinstance(v, str) and "." in v}
    for stream in subjects.STREAMS:
        found.update(stream.subjects)
    return found


def event_class_bodies(tree: ast.AST) -> set[int]:
    """ids of the nodes inside an event's class (one with a `type` field): its type literal and
    its examples."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(item, ast.AnnAssign) and getattr(item.target, "id", None) == "type"
            for item in node.body
        ):
            inside.update(id(child) for child in ast.walk(node))
    return inside


def subject_strings(path: Path, declared: set[str], root: Path = ROOT) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    allowed = event_class_bodies(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in allowed
            and (node.value in declared or node.value.startswith(OUR_PREFIXES))
        ):
            yield f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"


def test_no_subject_is_written_outside_its_declaration() -> None:
    declared = declared_subjects()
    found = [
        hit
        for folder in ("services", "shared", "cli")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and path not in (SUBJECTS_MODULE, WEBHOOK_NAMES)
        for hit in subject_strings(path, declared)
    ]
    assert not found, "subjects written outside okr_shared/subjects.py:\n" + "\n".join(found)


def test_the_scan_finds_a_subject_written_by_hand(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text(
        'SUBJECT = "rpc.objectives.get"\n'
        'def subject(n: int) -> str:\n    return f"progress.objective.{n}"\n'
    )
    assert len(list(subject_strings(stray, declared_subjects(), root=tmp_path))) == 2
