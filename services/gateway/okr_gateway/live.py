"""What feeds the live progress streams of one gateway process: two core NATS subscriptions
shared by every open stream, and each stream's view of the objectives, kept up to date.

- `progress.objective.>`: an update goes to the streams whose view holds its objective (an
  index by objective id), serialised once, never parsed for a stream that does not want it.
- `objective.>`: every objective event carries the owner and department of the objectives it
  touched, so each stream re-applies the view rule (okr_shared.objective_rules) to them: an
  objective created in, or moved into, the caller's view joins their stream, one that leaves
  it stops, without a request to any service. A change that the events cannot settle alone (a
  subtree stream when an objective moves: what comes with it) asks the objectives service
  again for that stream, once for a burst of events.

Who the caller is (role, department, active, token) lives in the gateway's identity store:
`watch` has routes/progress.py look at every open stream's caller at once, one query every
OKR_GATEWAY_STREAM_RECHECK_S, which ends a stream or calls `refresh` when that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from okr_shared import subjects as s
from okr_shared.contracts import objective_rpc as rpc
from okr_shared.contracts.common import Actor
from okr_shared.contracts.progress import ObjectiveProgressUpdated
from okr_shared.faults import is_transient
from okr_shared.objective_rules import sees_objective

log = logging.getLogger(__name__)

MAX_WAITING = 10_000  # frames a stream may have unsent; a client that far behind is cut off
RESYNC_DELAY_S = 0.2  # a burst of objective events asks the objectives service once
# Events that can change what a stream shows; the KPI links cannot.
VIEW_EVENTS = (
    s.OBJECTIVE_CREATED,
    s.OBJECTIVE_UPDATED,
    s.OBJECTIVE_MOVED,
    s.OBJECTIVE_DELETED,
    s.OBJECTIVE_RESTORED,
)
VIEW_FIELDS = {"owner_id", "department"}  # an update of these may bring an objective into view

# Asks the objectives service which live objectives the caller may see (VisibleIds).
AskVisible = Callable[[rpc.VisibleIds], Coroutine[Any, Any, list[int]]]


@dataclass(frozen=True)
class Scope:
    """What a stream asked for: some objectives, one subtree, or all the caller may see."""

    objective_ids: frozenset[int] | None = None
    root_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.objective_ids is None and self.root_id is None


@dataclass(eq=False)
class Viewer:
    """One open stream: its caller, what it shows, and the frames waiting to be sent."""

    actor: Actor
    scope: Scope
    token: str = ""  # what the caller signed the stream in with, checked again now and then
    fingerprint: int | None = None  # of the caller's identity row when last looked at
    allowed: set[int] | None = None  # None: every objective (an admin's whole company)
    ended: str | None = None  # why the stream ends, once it must
    frames: deque[bytes] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Objective events that arrived while the view was being asked for: applied after it.
    held: list[tuple[str, Any]] | None = None
    asking: asyncio.Lock = field(default_factory=asyncio.Lock)  # one question at a time

    def offer(self, frame: bytes) -> None:
        if len(self.frames) >= MAX_WAITING:
            self.end(f"more than {MAX_WAITING} updates waiting: reconnect and read afresh")
            return
        self.frames.append(frame)
        self.wake.set()

    def end(self, reason: str) -> None:
        self.ended = self.ended or reason
        self.wake.set()

    async def take(self, timeout_s: float) -> list[bytes]:
        """The frames waiting (all of them, to be sent as one), after at most `timeout_s`."""
        if not self.frames and self.ended is None:
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self.wake.wait()
        taken = list(self.frames)
        self.frames.clear()
        return taken


class LiveHub:
    def __init__(self, connection: Callable[[], Client], ask_visible: AskVisible) -> None:
        self._connection = connection
        self._ask_visible = ask_visible
        self._viewers: set[Viewer] = set()
        self._everything: set[Viewer] = set()  # allowed is None
        self._by_objective: dict[int, set[Viewer]] = {}
        self._subscriptions: list[Subscription] = []
        self._starting = asyncio.Lock()
        self._resyncs: dict[Viewer, asyncio.Task[None]] = {}
        self._watching: asyncio.Task[None] | None = None

    async def open(self, viewer: Viewer) -> Viewer:
        """The stream's view asked for and followed from now on. Raises what the objectives
        service raises (404 for a root or an id out of view)."""
        await self._start()
        actor, scope = viewer.actor, viewer.scope
        viewer.held = []
        self._viewers.add(viewer)  # events from now on are held, then applied on top
        try:
            allowed = await self._view_of(actor, scope)
        except BaseException:
            self.close(viewer)
            raise
        self._settle(viewer, allowed)
        return viewer

    async def refresh(self, viewer: Viewer, actor: Actor) -> None:
        """Ask again what the caller may see (their role or department changed, or a move
        touched their subtree)."""
        async with viewer.asking:
            viewer.actor = actor
            viewer.held = []
            try:
                allowed = await self._view_of(actor, viewer.scope)
            except Exception as err:
                viewer.held = None
                viewer.end(f"what you may see could not be read again ({err}); reconnect")
                return
            self._settle(viewer, allowed)

    def viewers(self) -> tuple[Viewer, ...]:
        return tuple(self._viewers)

    def watch(self, look: Callable[[tuple[Viewer, ...]], Awaitable[None]], every_s: float) -> None:
        """Call `look` with the open streams every `every_s` (once started, until `stop`)."""
        if self._watching is not None:
            return

        async def watching() -> None:
            while True:
                await asyncio.sleep(every_s)
                if self._viewers:
                    try:
                        await look(self.viewers())
                    except Exception as err:
                        if not is_transient(err):
                            log.exception("looking at the live streams' callers failed")
                        else:  # the database is away: look again next time
                            log.warning("could not look at the live streams' callers: %s", err)

        self._watching = asyncio.create_task(watching())

    def close(self, viewer: Viewer) -> None:
        self._viewers.discard(viewer)
        self._index(viewer, set())
        self._everything.discard(viewer)
        resync = self._resyncs.pop(viewer, None)
        if resync is not None:
            resync.cancel()

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
            self._watching = None
        for viewer in list(self._viewers):
            viewer.end("the gateway is stopping")
            self.close(viewer)
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions.clear()

    # --- the view ---------------------------------------------------------------------------

    async def _view_of(self, actor: Actor, scope: Scope) -> set[int] | None:
        if actor.is_admin and scope.everything:
            return None
        ids = sorted(scope.objective_ids) if scope.objective_ids is not None else None
        request = rpc.VisibleIds(actor=actor, root_id=scope.root_id, objective_ids=ids)
        return set(await self._ask_visible(request))

    def _settle(self, viewer: Viewer, allowed: set[int] | None) -> None:
        """Take `allowed` as the view, then apply the events held while it was asked for."""
        if viewer not in self._viewers:  # closed while its view was asked for
            return
        self._index(viewer, allowed)
        held, viewer.held = viewer.held or [], None
        for subject, event in held:
            self._apply(viewer, subject, event)

    def _index(self, viewer: Viewer, allowed: set[int] | None) -> None:
        before = viewer.allowed if viewer.allowed is not None else set()
        after = allowed if allowed is not None else set()
        for objective_id in before - after:
            self._revoke(viewer, objective_id)
        for objective_id in after - before:
            self._grant(viewer, objective_id)
        viewer.allowed = None if allowed is None else set(after)
        if allowed is None:
            self._everything.add(viewer)
        else:
            self._everything.discard(viewer)

    def _grant(self, viewer: Viewer, objective_id: int) -> None:
        if viewer.allowed is not None:
            viewer.allowed.add(objective_id)
        self._by_objective.setdefault(objective_id, set()).add(viewer)

    def _revoke(self, viewer: Viewer, objective_id: int) -> None:
        if viewer.allowed is not None:
            viewer.allowed.discard(objective_id)
        watching = self._by_objective.get(objective_id)
        if watching is not None:
            watching.discard(viewer)
            if not watching:
                del self._by_objective[objective_id]

    # --- the subscriptions ------------------------------------------------------------------

    async def _start(self) -> None:
        async with self._starting:
            if self._subscriptions:
                return
            connection = self._connection()
            self._subscriptions = [
                await connection.subscribe(
                    s.PROGRESS_UPDATES, cb=self._on_progress, pending_msgs_limit=100_000
                ),
                await connection.subscribe(
                    s.OBJECTIVE_EVENTS, cb=self._on_objective_event, pending_msgs_limit=100_000
                ),
            ]

    async def _on_progress(self, msg: Msg) -> None:
        last = msg.subject.rsplit(".", 1)[-1]
        if not last.isdigit():
            return
        objective_id = int(last)
        watching = self._by_objective.get(objective_id, ())
        if not watching and not self._everything:
            return
        try:
            update = ObjectiveProgressUpdated.model_validate_json(msg.data)
        except ValidationError as err:
            log.warning(
                "an invalid update on %s left out of the live streams: %s", msg.subject, err
            )
            return
        frames: dict[bool, bytes] = {}  # built once for admins, once for everyone else
        for viewer in (*self._everything, *watching):
            whole = viewer.actor.is_admin
            if whole not in frames:
                frames[whole] = _frame(objective_id, update, whole=whole)
            viewer.offer(frames[whole])

    async def _on_objective_event(self, msg: Msg) -> None:
        if msg.subject not in VIEW_EVENTS:
            return
        try:
            event = json.loads(msg.data)
        except ValueError:
            log.warning("an unreadable event on %s: left out of the live streams", msg.subject)
            return
        if msg.subject == s.OBJECTIVE_DELETED:  # possibly thousands: only their watchers
            for state in event["objectives"]:
                for viewer in list(self._by_objective.get(state["id"], ())):
                    self._revoke(viewer, state["id"])
        for viewer in list(self._viewers):
            if viewer.held is not None:
                viewer.held.append((msg.subject, event))
            elif msg.subject != s.OBJECTIVE_DELETED and not (
                viewer.actor.is_admin and viewer.scope.everything
            ):
                self._apply(viewer, msg.subject, event)

    def _apply(self, viewer: Viewer, subject: str, event: dict[str, Any]) -> None:
        states = event["objectives"] if "objectives" in event else [event["objective"]]
        changed = set(event.get("changed", ()))
        for state in states:
            verdict, ask = _verdict(viewer, subject, state, changed)
            if verdict is Verdict.GRANT:
                self._grant(viewer, state["id"])
            elif verdict is Verdict.REVOKE:
                self._revoke(viewer, state["id"])
            if ask:
                self._resync_soon(viewer)

    def _resync_soon(self, viewer: Viewer) -> None:
        if viewer in self._resyncs:
            return

        async def resync() -> None:
            await asyncio.sleep(RESYNC_DELAY_S)
            self._resyncs.pop(viewer, None)
            await self.refresh(viewer, viewer.actor)

        self._resyncs[viewer] = asyncio.create_task(resync())


class Verdict(Enum):
    GRANT = "grant"
    REVOKE = "revoke"
    KEEP = "keep"


ASK = True  # and ask the objectives service for the stream's whole view


def _verdict(
    viewer: Viewer, subject: str, state: dict[str, Any], changed: set[str]
) -> tuple[Verdict, bool]:
    """What an objective's new state means for one stream, and whether to ask again."""
    if state.get("deleted"):
        return Verdict.REVOKE, not ASK
    if state.get("owner_id") is None:  # an event from before owners were in events
        return Verdict.KEEP, ASK
    sees = sees_objective(viewer.actor, state["owner_id"], state.get("department"))
    scope = viewer.scope
    if scope.objective_ids is not None and state["id"] not in scope.objective_ids:
        return Verdict.KEEP, not ASK
    if scope.root_id is None or not sees:
        return (Verdict.GRANT if sees else Verdict.REVOKE), not ASK
    return _in_subtree(viewer, subject, state, changed)


def _in_subtree(
    viewer: Viewer, subject: str, state: dict[str, Any], changed: set[str]
) -> tuple[Verdict, bool]:
    """For a subtree's stream, where a visible objective hangs matters too: under an
    objective the stream shows, it is in; elsewhere it may still be, below one the caller
    may not see, so that is asked, as are the descendants a move or a restore brings."""
    under_shown = state.get("parent_id") in (viewer.allowed or set())
    if subject == s.OBJECTIVE_CREATED:
        return (Verdict.GRANT, not ASK) if under_shown else (Verdict.KEEP, ASK)
    if subject in (s.OBJECTIVE_MOVED, s.OBJECTIVE_RESTORED):
        return (Verdict.GRANT if under_shown else Verdict.REVOKE), ASK
    if state["id"] not in (viewer.allowed or set()) and changed & VIEW_FIELDS:
        return Verdict.KEEP, ASK  # newly in view: is it in the subtree?
    return Verdict.KEEP, not ASK


def _frame(objective_id: int, update: ObjectiveProgressUpdated, *, whole: bool) -> bytes:
    """The update as a Server-Sent Event: whole for an admin; for anyone else without
    `child_count`, which counts children they may not see."""
    shown = update.model_dump_json(exclude=None if whole else {"child_count"})
    return f"id: {objective_id}:{update.version}\nevent: progress\ndata: {shown}\n\n".encode()
