"""`okr bench --quick` runs end to end and reports every figure (about two minutes: marked slow,
run with `./okr test -m slow`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from okr_cli.bench.targets import TARGETS


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_bench_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    assert set(TARGETS) <= set(figures)
    assert all(figures[key] > 0 for key in TARGETS)
