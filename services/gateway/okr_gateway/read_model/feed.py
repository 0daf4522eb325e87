"""What keeps the store current: the objective events and the rollups, each followed by a
JetStream ordered consumer (the events from the moment the model starts, the rollups from each
objective's newest one), and a snapshot of every objective (the objectives service's export)
taken after both are followed. Events that arrive while the snapshot loads are held and applied
on top of it; versions make the overlap harmless. The rollups are replayed because the
snapshot's progress is what the objectives service has stored, which can trail what the
progress service published.

An ordered consumer notices a gap itself (a slow callback) and starts again after the last
message it delivered. A dropped connection to NATS, or anything the store cannot apply (an event
from before events carried every field), makes the model cold at once and takes a new snapshot;
while cold, the routes ask the objectives service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext
from pydantic import TypeAdapter, ValidationError

from okr_gateway.read_model.answers import Answers
from okr_gateway.read_model.store import Incomplete, ObjectiveStore
from okr_shared import subjects as s
from okr_shared.contracts.objective_events import LinkState, ObjectiveEvent, ObjectiveState
from okr_shared.contracts.objective_rpc import ObjectiveWrite
from okr_shared.heap import freeze_startup_objects

log = logging.getLogger(__name__)
T = TypeVar("T")

LOAD_SLICE = 2_000  # records built between two yields to the event loop while loading
RETRY_S = 1.0
MAX_RETRY_S = 30.0
WATCH_S = 0.25  # how often the connection is looked at
_event = TypeAdapter(ObjectiveEvent)


class Rollup:
    """The three fields of a progress update the store needs (parsed without pydantic: the
    progress stream is the busiest thing a gateway hears)."""

    __slots__ = ("objective_id", "progress", "version")

    def __init__(self, body: bytes) -> None:
        found: dict[str, Any] = json.loads(body)
        self.objective_id = int(found["objective_id"])
        self.progress = float(found["progress_percentage"])
        self.version = int(found["version"])


class ReadModel:
    def __init__(
        self, connection: Callable[[], Client], export: Callable[[], Awaitable[bytes]]
    ) -> None:
        self._connection = connection
        self._export = export
        self.answers: Answers | None = None  # set while warm
        self.loaded_in_s: float | None = None
        self._store = ObjectiveStore()
        self._held: list[ObjectiveEvent | Rollup] | None = None  # while a snapshot loads
        self._lost = asyncio.Event()
        self._warmed = asyncio.Event()
        self._resync = False
        self._frozen = False
        self._was_warm = False
        self._task: asyncio.Task[None] | None = None

    @property
    def warm(self) -> bool:
        return self.answers is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def resync(self) -> None:
        """Take a new snapshot now, and return once it is warm again: for objectives written
        past the events (rows an operator or a test wrote with SQL)."""
        self._resync = True
        self.answers = None
        self._warmed.clear()
        self._lost.set()
        await self._warmed.wait()

    def written(self, write: ObjectiveWrite[T]) -> T:
        """A write's result, once the model holds what it changed (the write's own events): the
        writer's next request reads it, whichever route answers."""
        if self._task is not None:  # not running (OKR_GATEWAY_READ_MODEL=false): nothing to keep
            for event in write.events:
                self._take(event)
        return write.result

    # --- the feed -------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not self._resync:
                    log.warning("the read model lost its feed (%s); reads ask the service", err)
            self.answers = None
            # Longer pauses while it keeps failing (an objectives service of an older version
            # exports what the model cannot use): reads ask the service meanwhile.
            failures = 1 if self._was_warm else failures + 1
            self._was_warm = False
            if not self._resync:
                await asyncio.sleep(min(RETRY_S * 2 ** (failures - 1), MAX_RETRY_S))
            self._resync = False

    async def _follow(self) -> None:
        js = self._connection().jetstream()
        self._lost.clear()
        self._store, self._held = ObjectiveStore(), []
        subscriptions = []
        try:
            for subject, callback, deliver in (
                (s.OBJECTIVE_EVENTS, self._on_objective_event, DeliverPolicy.NEW),
                # Each objective's newest rollup again: the snapshot's progress is what the
                # objectives service has stored, which can be behind what was published.
                (s.PROGRESS_UPDATES, self._on_rollup, DeliverPolicy.LAST_PER_SUBJECT),
            ):
                subscriptions.append(await self._subscribe(js, subject, callback, deliver))
            started = time.perf_counter()
            await self._load(await self._export())
            held, self._held = self._held or [], None
            for item in held:
                self._take(item)
            if self._lost.is_set():
                raise RuntimeError("an event could not be applied")
            # The records are long-lived: kept out of the collector's full walks, each of which
            # would otherwise visit every one of them (okr_shared/heap.py).
            if not self._frozen:  # once: later loads would freeze requests' objects too
                freeze_startup_objects()
                self._frozen = True
            self.answers = Answers(self._store)
            self._was_warm = True
            self._warmed.set()
            self.loaded_in_s = time.perf_counter() - started
            log.info("read model warm: %d objectives in %.1f s", len(self._store), self.loaded_in_s)
            await self._until_lost()
            if not self._resync:
                raise RuntimeError("an event could not be applied")
        finally:
            self._held = None
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    async def _until_lost(self) -> None:
        """Until an event cannot be applied, or the connection to NATS drops. While it is down
        the model may be missing events (another replica's writes): it goes cold at once, and
        takes a new snapshot when the connection is back."""
        connection = self._connection()
        reconnects = connection.stats["reconnects"]
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), WATCH_S)
            if not connection.is_connected or connection.stats["reconnects"] != reconnects:
                self.answers = None
                raise RuntimeError("the connection to NATS dropped")

    @staticmethod
    async def _subscribe(
        js: JetStreamContext,
        subject: str,
        callback: Callable[[Msg], Awaitable[None]],
        deliver: DeliverPolicy,
    ) -> Any:
        return await js.subscribe(
            subject, cb=callback, ordered_consumer=True, deliver_policy=deliver
        )

    async def _load(self, export: bytes) -> None:
        found = json.loads(export)
        objectives, links = found["objectives"], found["links"]
        for start in range(0, len(objectives), LOAD_SLICE):
            for state in objectives[start : start + LOAD_SLICE]:
                self._store.apply_state(ObjectiveState.model_validate(state))
            await asyncio.sleep(0)
        for link in links:
            self._store.apply_link(LinkState.model_validate(link))

    async def _on_objective_event(self, msg: Msg) -> None:
        try:
            event = _event.validate_json(msg.data)
        except ValidationError as err:
            log.warning("an objective event the read model cannot read: %s", err)
            self._lost.set()
            return
        self._take(event)

    async def _on_rollup(self, msg: Msg) -> None:
        try:
            rollup = Rollup(msg.data)
        except (ValueError, KeyError, TypeError) as err:
            log.warning("a progress update the read model cannot read: %s", err)
            return
        self._take(rollup)

    def _take(self, item: ObjectiveEvent | Rollup) -> None:
        if self._held is not None:
            self._held.append(item)
            return
        try:
            if isinstance(item, Rollup):
                self._store.apply_progress(item.objective_id, item.progress, item.version)
            else:
                self._store.apply(item)
        except Incomplete as err:
            log.warning("%s: the read model takes a new snapshot", err)
            self.answers = None
            self._lost.set()
