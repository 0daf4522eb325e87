"""What a service says it consumes and publishes on JetStream, with the contract of each
subject: declared where the consumer or the outbox is built, so the AsyncAPI document is made
from the very objects that do the work (see okr_shared.asyncapi).

An address is a NATS subject in which `{name}` stands for one token (`kpi.values.{kpi_id}`)
and `>` for the rest, as AsyncAPI channel addresses are written.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, get_args, get_origin

from okr_shared.subjects import STREAMS, Stream, dead_letters_of

PARAMETER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Channel:
    address: str
    payload: object  # a pydantic model, or an annotated union of models
    summary: str

    @property
    def parameters(self) -> list[str]:
        return PARAMETER.findall(self.address)

    @property
    def stream(self) -> Stream:
        """The stream that stores this subject: every event subject is in exactly one (a
        dead-letter subject in its stream's dead-letter stream)."""
        for stream in (*STREAMS, *(dead_letters_of(s) for s in STREAMS if s.dead_letters)):
            if any(covers(pattern, self.address) for pattern in stream.subjects):
                return stream
        raise ValueError(f"no stream captures {self.address}")


def _tokens_regex(address: str) -> str:
    parts = []
    for part in address.split("."):
        if part == ">":
            parts.append(r"[^.]+(?:\.[^.]+)*")
        elif part == "*" or PARAMETER.fullmatch(part):
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(part))
    return r"\.".join(parts)


def covers(pattern: str, address: str) -> bool:
    """Whether every subject of `address` matches `pattern` (both may hold wildcards)."""
    probe = PARAMETER.sub("x", address).replace("*", "x").replace(">", "x")
    return re.fullmatch(_tokens_regex(pattern), probe) is not None


class Declared:
    """Matches a subject against declared channels: an outbox refuses an event on a subject
    it did not declare, so the document cannot silently fall behind the code."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self.channels = tuple(channels)
        joined = "|".join(f"(?:{_tokens_regex(c.address)})" for c in self.channels)
        self._regex = re.compile(joined) if self.channels else None

    def check(self, subjects: Iterable[str]) -> None:
        for subject in set(subjects):
            if self._regex is None or self._regex.fullmatch(subject) is None:
                declared = ", ".join(c.address for c in self.channels) or "none"
                raise ValueError(f"{subject} is not a declared channel (declared: {declared})")


def document_consumed(
    filter_subject: str, payload: object, channels: Sequence[Channel]
) -> tuple[Channel, ...]:
    """What a consumer documents: its channels, or its filter subject with its payload model.
    A decode function says nothing of the contract, so it must come with channels."""
    if channels:
        return tuple(channels)
    if isinstance(payload, type):
        return (Channel(filter_subject, payload, own_doc(payload)),)
    raise TypeError(f"a consumer of {filter_subject} decoding with a function must list channels")


def channel_per_event(union: object, summary: str) -> tuple[Channel, ...]:
    """One channel per member of a union of events whose `type` is the subject it travels on
    (the objective events): a reader sees which model each subject carries."""
    members = get_args(get_args(union)[0]) if get_origin(union) is Annotated else get_args(union)
    return tuple(
        Channel(member.model_fields["type"].default, member, own_doc(member) or summary)
        for member in members
    )


def own_doc(model: type) -> str:
    """The model's own docstring, not its base's (every event would say "Base of every event")."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""
