"""NATS subject and JetStream stream names: the one place they are spelled.

Events are past tense and travel on JetStream; queries and commands are request/reply on `rpc.*`
subjects, which no stream captures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from okr_shared.contracts.common import Event
from okr_shared.contracts.kpi_events import KpiProgressChanged
from okr_shared.contracts.objective_events import (
    ObjectiveCheckedIn,
    ObjectiveCreated,
    ObjectiveKpiLinked,
    ObjectiveKpiUnlinked,
    ObjectiveMoved,
    ObjectivesDeleted,
    ObjectivesGraded,
    ObjectivesReopened,
    ObjectivesRestored,
    ObjectiveUpdated,
)


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: tuple[str, ...]
    max_age: timedelta
    # Window in which JetStream drops a repeated Nats-Msg-Id: a relay that crashes between
    # publish and "mark sent" republishes inside it, and the duplicate is dropped.
    duplicate_window: timedelta = timedelta(minutes=10)
    dead_letters: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def dlq_name(self) -> str:
        return f"{self.name}_DLQ"


DLQ_PREFIX = "dlq."


def dead_letter_subject(original_subject: str) -> str:
    return DLQ_PREFIX + original_subject


def original_subject(dead_letter: str) -> str:
    """The subject a dead letter was first sent on."""
    return dead_letter.removeprefix(DLQ_PREFIX)


# --- events -----------------------------------------------------------------------------------


def event_subject(event: type[Event]) -> str:
    """The subject of an event published on the subject its `type` names: the type, declared
    once, in the event's class."""
    return str(event.model_fields["type"].default)


OBJECTIVE_CREATED = event_subject(ObjectiveCreated)
OBJECTIVE_UPDATED = event_subject(ObjectiveUpdated)
OBJECTIVE_MOVED = event_subject(ObjectiveMoved)
OBJECTIVE_DELETED = event_subject(ObjectivesDeleted)
OBJECTIVE_RESTORED = event_subject(ObjectivesRestored)
OBJECTIVE_KPI_LINKED = event_subject(ObjectiveKpiLinked)
OBJECTIVE_KPI_UNLINKED = event_subject(ObjectiveKpiUnlinked)
OBJECTIVE_CHECKED_IN = event_subject(ObjectiveCheckedIn)
OBJECTIVE_GRADED = event_subject(ObjectivesGraded)
OBJECTIVE_REOPENED = event_subject(ObjectivesReopened)
OBJECTIVE_EVENTS = "objective.>"

# Kept 30 days: a consumer that was away for less catches up from the stream; beyond that the
# progress projection is rebuilt from the objectives service itself.
OBJECTIVES = Stream("OBJECTIVES", (OBJECTIVE_EVENTS,), max_age=timedelta(days=30))

KPI_VALUE_PREFIX = "kpi.values."  # + the KPI's id: one value per message
KPI_VALUE_ADDRESS = KPI_VALUE_PREFIX + "{kpi_id}"  # the same, as an AsyncAPI channel address
KPI_VALUE_BATCH = "kpi.values.batch"  # many values in one message, for bulk loads
KPI_VALUES_SUBJECTS = "kpi.values.>"
# A value's idempotency key when it is not the Nats-Msg-Id: the gateway sends the caller's key
# here and a Nats-Msg-Id that no NATS sender can guess (JetStream drops a repeated Nats-Msg-Id
# whoever sends it). Either way the key is unique per KPI and sender, never across senders.
VALUE_KEY_HEADER = "Okr-Idempotency-Key"
KPI_PROGRESS_CHANGED = event_subject(KpiProgressChanged)

KPI_VALUES = Stream("KPI_VALUES", (KPI_VALUES_SUBJECTS,), max_age=timedelta(days=7))
KPI_EVENTS = Stream("KPI_EVENTS", (KPI_PROGRESS_CHANGED,), max_age=timedelta(days=30))

PROGRESS_UPDATES = "progress.objective.>"
PROGRESS_UPDATE_ADDRESS = "progress.objective.{objective_id}"  # progress_subject(), for AsyncAPI
PROGRESS = Stream("PROGRESS", (PROGRESS_UPDATES,), max_age=timedelta(days=1))

STREAMS: tuple[Stream, ...] = (OBJECTIVES, KPI_VALUES, KPI_EVENTS, PROGRESS)


def dead_letters_of(stream: Stream) -> Stream:
    """The stream that keeps `stream`'s refused messages, as streams.py declares it."""
    subjects = tuple(dead_letter_subject(s) for s in stream.subjects)
    return Stream(stream.dlq_name, subjects, max_age=timedelta(days=30), dead_letters=False)


# The values the KPIs service refused, with their reasons (the webhooks service reads them).
KPI_VALUES_DEAD_LETTERS = dead_letters_of(KPI_VALUES)
KPI_VALUE_REJECTIONS = dead_letter_subject(KPI_VALUES_SUBJECTS)


def progress_subject(objective_id: int) -> str:
    return f"progress.objective.{objective_id}"


def kpi_value_subject(kpi_id: int) -> str:
    return f"{KPI_VALUE_PREFIX}{kpi_id}"


# --- who sent a value: the subject says, and NATS permissions decide who may publish where ----
# kpi.values.<kpi_id> | kpi.values.batch            the shared `hr` user ("hr")
# kpi.values.i.<integration>.<kpi_id> | ...batch     one integration ("integration:<id>")
# kpi.values.u.<user_id>.<kpi_id> | ...batch         the gateway, for a REST caller ("user:<id>")
HR_SOURCE = "hr"
_SENDERS = {"i": "integration", "u": "user"}
KPI_VALUE_INTEGRATION_ADDRESS = "kpi.values.i.{integration_id}.{kpi_id}"  # for AsyncAPI
KPI_VALUE_INTEGRATION_BATCH_ADDRESS = "kpi.values.i.{integration_id}.batch"
KPI_VALUE_USER_ADDRESS = "kpi.values.u.{user_id}.{kpi_id}"
KPI_VALUE_USER_BATCH_ADDRESS = "kpi.values.u.{user_id}.batch"


def integration_value_prefix(integration_id: int) -> str:
    """Where integration `integration_id` publishes: `<prefix>.<kpi_id>` or `<prefix>.batch`."""
    return f"kpi.values.i.{integration_id}"


def user_value_prefix(user_id: int) -> str:
    """Where the gateway publishes the values a REST caller records."""
    return f"kpi.values.u.{user_id}"


def integration_source(integration_id: int) -> str:
    return f"integration:{integration_id}"


def parse_value_subject(subject: str) -> tuple[str, str]:
    """(who sent it, the KPI id or `batch`) of a subject under `kpi.values.`: who is told by
    the subject alone, which the server lets only that sender publish on. ValueError else."""
    tokens = subject.split(".")
    if tokens[:2] == ["kpi", "values"] and len(tokens) == 3:
        return HR_SOURCE, tokens[2]
    if (
        tokens[:2] == ["kpi", "values"]
        and len(tokens) == 5
        and tokens[2] in _SENDERS
        and tokens[3].isdigit()
        and len(tokens[3]) <= 18
        and int(tokens[3]) > 0
    ):
        return f"{_SENDERS[tokens[2]]}:{int(tokens[3])}", tokens[4]
    raise ValueError(
        "the subject must be kpi.values.<kpi id>, kpi.values.batch, or either of them under "
        f"an integration's prefix kpi.values.i.<integration id>, not {subject}"
    )


# --- what an HR system may do on NATS (its user's permissions) -----------------------------
# `kpi.values.*`: one token, so the shared user cannot publish under an integration's prefix.
HR_PUBLISH = ("kpi.values.*", "$JS.API.INFO", "$JS.API.STREAM.INFO.KPI_VALUES")
HR_SUBSCRIBE = ("_INBOX.>",)  # replies: JetStream acknowledgements of what it published


def integration_inbox_prefix(integration_id: int) -> str:
    """Where an integration's client must take its replies (its JetStream acknowledgements):
    outside `_INBOX.`, which the shared `hr` user may read, and apart from every other's."""
    return f"_INBOX_i{integration_id}"


def integration_publish(integration_id: int) -> tuple[str, ...]:
    return (f"{integration_value_prefix(integration_id)}.>", *HR_PUBLISH[1:])


def integration_subscribe(integration_id: int) -> tuple[str, ...]:
    return (f"{integration_inbox_prefix(integration_id)}.>",)


# Where the services, and every tool acting as them, take their replies (request/reply answers,
# JetStream API answers): not under `_INBOX.`, so an HR credential, which may read `_INBOX.>`
# for its own acknowledgements, never sees one.
SERVICE_INBOX_PREFIX = "_INBOX_okr"

# --- request/reply --------------------------------------------------------------------------
RPC_PING_ALL = "rpc.ping"  # every instance of every service answers: `okr status`
RPC_STATUS_ALL = "rpc.status"  # every instance: its consumers' lag and its outbox backlog


# The services behind the gateway; each answers rpc.<service>.asyncapi with its AsyncAPI document.
SERVICES = ("objectives", "kpis", "progress", "webhooks")


def rpc_asyncapi(service: str) -> str:
    return f"rpc.{service}.asyncapi"


def rpc_ping(service: str) -> str:
    """One instance of `service` answers (queue group): a liveness probe."""
    return f"rpc.{service}.ping"


RPC_OBJECTIVES_CREATE = "rpc.objectives.create"
RPC_OBJECTIVES_GET = "rpc.objectives.get"
RPC_OBJECTIVES_LIST = "rpc.objectives.list"
RPC_OBJECTIVES_UPDATE = "rpc.objectives.update"
RPC_OBJECTIVES_DELETE = "rpc.objectives.delete"
RPC_OBJECTIVES_RESTORE = "rpc.objectives.restore"
RPC_OBJECTIVES_MOVE = "rpc.objectives.move"
RPC_OBJECTIVES_CHILDREN = "rpc.objectives.children"
RPC_OBJECTIVES_ANCESTORS = "rpc.objectives.ancestors"
RPC_OBJECTIVES_TREE = "rpc.objectives.tree"  # chunked: see okr_shared.rpc
RPC_OBJECTIVES_TREE_LEVEL = "rpc.objectives.tree_level"  # chunked
RPC_OBJECTIVES_GANTT = "rpc.objectives.gantt"  # chunked
RPC_OBJECTIVES_STATS = "rpc.objectives.stats"
RPC_OBJECTIVES_HISTORY = "rpc.objectives.history"
RPC_OBJECTIVES_LINKS = "rpc.objectives.links"
RPC_OBJECTIVES_CHECK_IN = "rpc.objectives.check_in"
RPC_OBJECTIVES_CHECK_INS = "rpc.objectives.check_ins"
RPC_OBJECTIVES_REPORT = "rpc.objectives.report"  # chunked
RPC_PERIODS_CLOSE = "rpc.objectives.periods.close"
RPC_PERIODS_REOPEN = "rpc.objectives.periods.reopen"
RPC_PERIODS_LIST = "rpc.objectives.periods.list"
RPC_OBJECTIVES_LINK_KPI = "rpc.objectives.link_kpi"
RPC_OBJECTIVES_UNLINK_KPI = "rpc.objectives.unlink_kpi"
RPC_OBJECTIVES_BY_KPI = "rpc.objectives.by_kpi"
RPC_OBJECTIVES_CREATABLE_LEVELS = "rpc.objectives.creatable_levels"
RPC_OBJECTIVES_OWNERS = "rpc.objectives.owners"  # which users own objectives the caller sees
RPC_OBJECTIVES_VISIBLE_IDS = "rpc.objectives.visible_ids"  # what a live stream may show
RPC_OBJECTIVES_IMPORT = "rpc.objectives.import"  # its rows travel as a parcel (okr_shared.parcels)
RPC_PROGRESS_CALCULATE = "rpc.progress.calculate"
RPC_PROGRESS_RECALCULATE = "rpc.progress.recalculate"
RPC_PROGRESS_REBUILD = "rpc.progress.rebuild"
RPC_PROGRESS_HISTORY = "rpc.progress.history"  # one objective's recorded rollups, bucketed
RPC_PROGRESS_CONTRIBUTIONS = "rpc.progress.contributions"  # chunked: one item per KPI below
RPC_OBJECTIVES_EXPORT = "rpc.objectives.export"  # chunked: every state, for a rebuild
RPC_KPIS_EXPORT = "rpc.kpis.export"  # chunked
RPC_KPIS_CREATE = "rpc.kpis.create"
RPC_KPIS_GET = "rpc.kpis.get"
RPC_KPIS_LIST = "rpc.kpis.list"
RPC_KPIS_UPDATE = "rpc.kpis.update"
RPC_KPIS_ARCHIVE = "rpc.kpis.archive"
RPC_KPIS_VALUES = "rpc.kpis.values"
RPC_KPIS_WRITABLE = "rpc.kpis.writable"
RPC_KPIS_REJECTIONS = "rpc.kpis.rejections"
RPC_KPIS_SOURCES = "rpc.kpis.sources"  # values sent and refused per sender
RPC_WEBHOOKS_CREATE = "rpc.webhooks.create"
RPC_WEBHOOKS_LIST = "rpc.webhooks.list"
RPC_WEBHOOKS_GET = "rpc.webhooks.get"
RPC_WEBHOOKS_UPDATE = "rpc.webhooks.update"
RPC_WEBHOOKS_DELETE = "rpc.webhooks.delete"
RPC_WEBHOOKS_ROTATE_SECRET = "rpc.webhooks.rotate_secret"  # noqa: S105 - a subject
RPC_WEBHOOKS_DELIVERIES = "rpc.webhooks.deliveries"
RPC_WEBHOOKS_TEST = "rpc.webhooks.test"

# A JetStream object store: request bodies larger than a NATS message (okr_shared.parcels).
PARCELS_BUCKET = "OKR_PARCELS"
