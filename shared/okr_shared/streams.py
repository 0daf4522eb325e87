"""Declare the JetStream streams, idempotently, at every service's start.

Every service declares all of them: a consumer cannot bind to a stream that its producer has
not started yet, and declaring is a handful of requests that change nothing when nothing changed.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from okr_shared.subjects import STREAMS, Stream, dead_letter_subject

log = logging.getLogger(__name__)

DEAD_LETTER_MAX_AGE_S = 30 * 24 * 3600


def stream_configs(stream: Stream, replicas: int) -> list[StreamConfig]:
    configs = [
        StreamConfig(
            name=stream.name,
            subjects=list(stream.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=stream.max_age.total_seconds(),
            duplicate_window=stream.duplicate_window.total_seconds(),
            num_replicas=replicas,
        )
    ]
    if stream.dead_letters:
        configs.append(
            StreamConfig(
                name=stream.dlq_name,
                subjects=[dead_letter_subject(s) for s in stream.subjects],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=DEAD_LETTER_MAX_AGE_S,
                num_replicas=replicas,
            )
        )
    return configs


async def ensure_streams(
    js: JetStreamContext, streams: tuple[Stream, ...] = STREAMS, *, replicas: int = 1
) -> None:
    for stream in streams:
        for config in stream_configs(stream, replicas):
            await _ensure(js, config)


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        current = await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            log.info("created stream %s", config.name)
            return
        except BadRequestError:  # another service created it first
            current = await js.stream_info(config.name)
    if _differs(current.config, config):
        await js.update_stream(config)
        log.info("updated stream %s", config.name)


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    """Compare only what we set: the server fills in defaults for the rest."""
    if sorted(current.subjects or []) != sorted(wanted.subjects or []):
        return True
    fields = ("max_age", "duplicate_window", "num_replicas")
    return any(
        getattr(wanted, f) is not None and getattr(current, f) != getattr(wanted, f) for f in fields
    )
