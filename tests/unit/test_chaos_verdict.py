"""The chaos judge itself must catch what it is there to catch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_cli.chaos.openapi import read_report
from okr_cli.chaos.verdict import (
    Verdict,
    _rollup_mismatches,
    count_announcements,
    count_letters,
    count_values,
)
from okr_cli.chaos.webhooks import count_webhooks
from okr_cli.chaos.workload import Value, value_stream
from okr_cli.receiver import Received, Receiver

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
SENT = {
    f"k{n}": Value(f"k{n}", 10 + n % 2, float(n), AT + timedelta(milliseconds=n)) for n in range(4)
}


def _tree(company: float, team: float, person: float) -> dict[str, list[dict[str, Any]]]:
    def node(oid: int, parent: int | None, progress: float) -> dict[str, Any]:
        return {
            "id": oid,
            "parent_id": parent,
            "status": "active",
            "manual_progress": 0.0,
            "deleted": False,
            "shown": progress,
            "rolled": progress,
        }

    return {
        "objectives": [node(1, None, company), node(2, 1, team), node(3, 2, person)],
        "links": [
            {"objective_id": 3, "kpi_id": 10, "weight": 1.0},
            {"objective_id": 3, "kpi_id": 11, "weight": 0.25},
        ],
    }


def test_a_correct_rollup_has_no_mismatch() -> None:
    # person: (1 * 40 + 0.25 * 80) / 1.25 = 48; its team and company average it
    assert _rollup_mismatches(_tree(48, 48, 48), {10: 40.0, 11: 80.0}) == []


def test_a_stale_or_missing_rollup_is_a_mismatch() -> None:
    assert _rollup_mismatches(_tree(47, 48, 48), {10: 40.0, 11: 80.0}) == [(1, 48.0, 47, 47)]
    tree = _tree(48, 48, 48)
    tree["objectives"][2]["rolled"] = None
    assert _rollup_mismatches(tree, {10: 40.0, 11: 80.0}) == [(3, 48.0, None, 48)]


def test_the_value_stream_repeats_and_reorders() -> None:
    stream = value_stream([1, 2, 3], 1000, seed=5)
    carried = [key for m in stream.messages for key in m.keys]
    assert set(carried) == set(stream.values)
    assert len(carried) >= 1100  # a tenth sent twice
    order = [stream.values[key].observed_at for key in carried]
    assert order != sorted(order)
    assert stream.latest(set(stream.values)) == {
        kpi: max(
            (v for v in stream.values.values() if v.kpi_id == kpi), key=lambda v: v.observed_at
        ).value
        for kpi in (1, 2, 3)
    }


def _counted(stored: list[Value], accepted: set[str] | None = None) -> Verdict:
    verdict = Verdict("s")
    keys = set(SENT) if accepted is None else accepted
    count_values(verdict, SENT, owed=set(SENT), accepted=keys, stored=stored)
    return verdict


def test_every_accepted_value_stored_once_as_sent_passes() -> None:
    verdict = _counted(list(SENT.values()))
    assert (verdict.values_sent, verdict.owed, verdict.accepted, verdict.stored) == (4, 4, 4, 4)
    assert (verdict.lost, verdict.duplicates, verdict.wrong_values) == (0, 0, 0)
    assert verdict.passed, verdict.broken_rules()


def test_an_accepted_value_not_stored_is_lost() -> None:
    verdict = _counted([SENT["k0"], SENT["k1"], SENT["k3"]])
    assert (verdict.stored, verdict.lost) == (3, 1)
    assert not verdict.passed


def test_a_value_not_accepted_and_not_stored_is_not_lost() -> None:
    verdict = _counted([SENT["k0"], SENT["k1"], SENT["k3"]], accepted={"k0", "k1", "k3"})
    assert verdict.lost == 0
    assert verdict.broken_rules() == ["3 values accepted of 4 owed"]


def test_a_key_stored_twice_is_a_duplicate() -> None:
    verdict = _counted([*SENT.values(), SENT["k2"], SENT["k2"]])
    assert (verdict.stored, verdict.duplicates) == (4, 2)
    assert not verdict.passed


@pytest.mark.parametrize(
    "altered",
    [
        replace(SENT["k1"], value=1.5),
        replace(SENT["k1"], kpi_id=99),
        replace(SENT["k1"], observed_at=AT),
        Value("never-sent", 10, 1.0, AT),
    ],
    ids=["value", "kpi", "observed_at", "never sent"],
)
def test_a_value_stored_unlike_the_one_sent_is_wrong(altered: Value) -> None:
    stored = [SENT["k0"], altered, SENT["k2"], SENT["k3"]]
    if altered.key != "k1":
        stored.append(SENT["k1"])
    verdict = _counted(stored)
    assert verdict.wrong_values == 1
    assert verdict.broken_rules() == ["1 stored values unlike the ones sent"]


def test_announcements_lost_and_doubled() -> None:
    verdict = Verdict("s")
    count_announcements(verdict, created=[1, 2, 2, 2, 4], committed={1, 2, 3, 4})
    assert (verdict.duplicates, verdict.lost) == (2, 1)
    verdict = Verdict("s")
    count_announcements(verdict, created=[1, 2, 3], committed={1, 2, 3})
    assert (verdict.duplicates, verdict.lost) == (0, 0)


def test_a_valid_message_dead_lettered_is_counted() -> None:
    verdict = Verdict("s")
    count_letters(verdict, [("bad-1", "unknown KPI 7"), ("good-1", "timeout")], {"bad-1"})
    assert verdict.valid_dead_lettered == 1
    assert verdict.notes == []


def test_a_bad_message_missing_from_dead_letters_fails() -> None:
    verdict = _counted(list(SENT.values()))
    count_letters(verdict, [("bad-1", "unknown KPI 7")], {"bad-1", "bad-2"})
    assert verdict.valid_dead_lettered == 0
    assert verdict.notes == ["FAILED: 1 bad messages missing from dead letters, e.g. ['bad-2']"]
    assert verdict.broken_rules() == []
    assert not verdict.passed


def test_a_dead_letter_without_a_reason_fails() -> None:
    verdict = _counted(list(SENT.values()))
    count_letters(verdict, [("bad-1", "")], {"bad-1"})
    assert verdict.notes == ["FAILED: a dead letter without a reason"]
    assert not verdict.passed


def _good(**changes: Any) -> Verdict:
    return replace(Verdict("s", values_sent=5, owed=4, accepted=4, stored=4), **changes)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"duplicates": 1}, "1 duplicates stored"),
        ({"lost": 2}, "2 accepted values or announcements lost"),
        ({"wrong_values": 1}, "1 stored values unlike the ones sent"),
        ({"valid_dead_lettered": 3}, "3 valid messages dead-lettered"),
        ({"rollup_mismatches": 1}, "1 rollup mismatches"),
        ({"unacknowledged": 2}, "2 messages never acknowledged (the publisher gave up)"),
        ({"accepted": 3}, "3 values accepted of 4 owed"),
        ({"accepted": 0, "owed": 0, "stored": 0}, "no value was accepted"),
        ({"accepted": 0, "stored": 0}, "no value was accepted"),
    ],
)
def test_each_rule_fails_a_scenario(changes: dict[str, Any], rule: str) -> None:
    assert _good().passed
    verdict = _good(**changes)
    assert verdict.broken_rules() == [rule]
    assert not verdict.passed


def test_a_failed_note_fails_a_scenario_and_other_notes_do_not() -> None:
    assert _good(notes=["killed okr-2, the KPI_VALUES stream's leader"]).passed
    failed = _good(notes=["FAILED: the KPI_VALUES stream's leader was not found"])
    assert failed.broken_rules() == []
    assert not failed.passed


def test_a_scenario_of_requests_needs_requests_not_values() -> None:
    assert Verdict("openapi-fuzzed", requests=2801).passed
    assert Verdict("openapi-fuzzed", requests=0).broken_rules() == ["no request was sent"]
    assert not Verdict("openapi-fuzzed", requests=5, duplicates=1).passed


def _report(generated: int = 120, tested: int | None = 40, **changes: Any) -> dict[str, Any]:
    """Shaped as Schemathesis 4.32's `--report json` document (schemathesis.cli.json_report)."""
    operations = None
    if tested is not None:
        operations = {
            "total": 41,
            "selected": 41,
            "tested": tested,
            "errored": 0,
            "skipped": 41 - tested,
            "skip_reasons": [],
        }
    return {
        "schemathesis_version": "4.32.5",
        "complete": True,
        "exit_code": 0,
        "operations": operations,
        "test_cases": {
            "generated": generated,
            "with_failures": 0,
            "unique_failures": 0,
            "without_checks": 0,
            "errored": 0,
        },
        "failures": [],
        "errors": [],
        **changes,
    }


def test_the_openapi_report_is_read() -> None:
    verdict = Verdict("openapi-fuzzed", requests=0)
    read_report(verdict, _report(), returncode=0)
    assert verdict.requests == 120
    assert verdict.notes == [
        "120 requests from the OpenAPI document over 40 operations; 0 got a 5xx"
    ]
    assert verdict.passed


@pytest.mark.parametrize(
    "report",
    [
        _report(generated=0, tested=0),
        _report(tested=None),  # the schema never loaded
        _report(
            failures=[
                {
                    "type": "ServerError",
                    "code": "server_error",
                    "title": "Server error",
                    "severity": "critical",
                    "count": 1,
                    "operations": ["GET /api/v1/objectives/{objective_id}"],
                }
            ]
        ),
        _report(errors=[{"title": "Network Error", "count": 3}]),
    ],
    ids=["no requests", "no schema", "a 5xx", "errors"],
)
def test_an_openapi_run_that_tested_nothing_or_failed_fails(report: dict[str, Any]) -> None:
    verdict = Verdict("openapi-fuzzed", requests=0)
    read_report(verdict, report, returncode=0)
    assert not verdict.passed


def test_a_5xx_names_its_operation() -> None:
    verdict = Verdict("openapi-fuzzed", requests=0)
    failure = {"title": "Server error", "operations": ["GET /api/v1/kpis"], "count": 1}
    read_report(verdict, _report(failures=[failure]), returncode=1)
    assert verdict.notes[-1] == "FAILED: ['GET /api/v1/kpis: Server error']"


def _received(webhook_id: str, answered: int = 200) -> Received:
    return Received("/chaos", webhook_id, "objective.created", {}, answered, 0.0, {}, b"{}")


def test_the_webhooks_judge_counts_every_owed_event_delivered_once_or_more() -> None:
    owed = {
        "objective.created": {"msg_a", "msg_b"},
        "objective.progress_changed": {"msg_c"},
        "kpi.value_rejected": {"msg_d"},
    }
    receiver = Receiver()
    receiver.received = [
        _received("msg_a", 500),
        _received("msg_a"),
        _received("msg_a"),  # again: at least once is allowed
        _received("msg_b"),
        _received("msg_c"),
        _received("msg_d"),
    ]
    fine = Verdict("webhooks")
    count_webhooks(fine, owed, receiver)
    assert (fine.webhooks_owed, fine.webhooks_delivered, fine.lost) == (4, 4, 0)
    assert not any(n.startswith("FAILED") for n in fine.notes)
    assert "1 delivered again" in fine.notes[-1] and "1 answered 500" in fine.notes[-1]

    receiver.received = [r for r in receiver.received if r.webhook_id != "msg_c"]
    receiver.received.append(_received("msg_c", 500))  # only ever refused: not delivered
    receiver.received.append(_received("msg_z"))  # of no event
    receiver.refused.append("/chaos: WebhookVerificationError: No matching signature found")
    broken = Verdict("webhooks")
    count_webhooks(broken, {**owed, "kpi.value_rejected": set()}, receiver)
    assert broken.lost == 1 and broken.webhooks_delivered == 2
    failed = [n for n in broken.notes if n.startswith("FAILED")]
    assert len(failed) == 4  # lost, a stranger, a bad signature, no refusal owed
    assert not broken.passed
