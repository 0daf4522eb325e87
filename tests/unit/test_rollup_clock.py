"""The rollup-latency ruler times every value sent, and only from an update that reflects it."""

from __future__ import annotations

import pytest

from okr_cli.bench.rollup import RollupClock, company_progress, shortfall


def _clock(target: int, sent: int) -> RollupClock:
    clock = RollupClock(target=target)
    for n in range(sent):
        clock.send(at=n * 0.002)
    return clock


@pytest.mark.parametrize("target", [1_000, 5_000])
def test_every_value_is_told_apart_by_the_company_progress(target: int) -> None:
    clock = RollupClock(target=target)
    assert [clock.reflected(company_progress(n, target)) for n in range(target + 1)] == list(
        range(target + 1)
    )
    assert clock.reflected(company_progress(1, target) / 2) is None  # between two values
    assert clock.reflected(100.0) is None  # past the last


def test_an_update_times_every_value_up_to_the_one_it_reflects() -> None:
    clock = _clock(1_000, 5)
    clock.update(company_progress(1, 1_000), at=0.010)
    clock.update(company_progress(4, 1_000), at=0.020)  # 2 and 3 went in 4's batch
    assert clock.latencies_ms == pytest.approx([10.0, 18.0, 16.0, 14.0])
    assert not clock.all_timed
    clock.update(company_progress(3, 1_000), at=0.030)  # late and older: times nothing
    clock.update(company_progress(5, 1_000), at=0.040)
    assert clock.latencies_ms == pytest.approx([10.0, 18.0, 16.0, 14.0, 32.0])
    assert clock.all_timed
    figures = clock.figures()
    assert (figures["rollup_latency_timed"], figures["rollup_latency_sent"]) == (5, 5)
    assert figures["rollup_latency_p50_ms"] == pytest.approx(16.0)
    assert figures["rollup_latency_p99_ms"] == pytest.approx(32.0)


def test_an_update_of_no_value_times_nothing() -> None:
    clock = _clock(1_000, 3)
    clock.update(company_progress(2, 1_000) + 0.0001, at=0.010)
    clock.update(0.0, at=0.011)  # the company before any value
    assert (clock.latencies_ms, clock.unrecognised) == ([], 1)


def test_under_99_percent_timed_the_figures_cannot_be_read() -> None:
    clock = _clock(1_000, 1_000)
    clock.update(company_progress(989, 1_000), at=3.0)
    assert shortfall(clock.figures()) == (
        "rollup latency timed 989 of 1,000 values sent (98.9%); under 99% its percentiles "
        "would leave out the slowest"
    )
    clock.update(company_progress(990, 1_000), at=3.1)
    assert shortfall(clock.figures()) is None
    assert shortfall({}) is not None  # nothing sent
