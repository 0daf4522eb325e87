"""The fault-injection scenarios of `okr chaos`: each on a system of its own, judged by
okr_cli.chaos.verdict. The quick size runs in the default suite; the full size (20,000 values
per scenario) is marked chaos: `./okr test -m chaos`, or `./okr chaos` for the table."""

from __future__ import annotations

import pytest

from okr_cli.chaos import scenarios

NAMES = list(scenarios.SCENARIOS)
QUICK = [name for name, s in scenarios.SCENARIOS.items() if not s.long]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", QUICK)
async def test_quick(name: str) -> None:
    verdict = await scenarios.run(scenarios.SCENARIOS[name], quick=True)
    assert verdict.passed, verdict
    assert verdict.stored == verdict.accepted > 0


@pytest.mark.chaos
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NAMES)
async def test_full(name: str) -> None:
    verdict = await scenarios.run(scenarios.SCENARIOS[name], quick=False)
    assert verdict.passed, verdict
    assert verdict.stored == verdict.accepted
    assert verdict.accepted > 0 or name == "openapi-fuzzed"
