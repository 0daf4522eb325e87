"""Failpoints: named places where a chaos run may SIGKILL its own process, to prove that a crash
exactly there loses nothing and duplicates nothing.

Off unless `OKR_FAILPOINTS` arms some, as `name=N[,name=N...]`: the process kills itself the
N-th time it passes `name`. Only `okr chaos` and tests/e2e/test_progress_crash.py arm them.
The names:

- `consumer.<durable>.before_ack`: a pulled batch was handled (its transaction committed) and
  is about to be acknowledged;
- `outbox.<schema>.before_publish`: committed events were read from the outbox and are about to
  be published;
- `outbox.<schema>.after_publish`: they were published and are about to be marked sent;
- `webhooks.delivery.after_send`: a webhook was answered and its outcome is not yet recorded.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections import Counter

log = logging.getLogger(__name__)

_SPEC = re.compile(r"^\s*([a-z0-9_.\-]+)\s*=\s*([1-9][0-9]*)\s*$")
_armed: dict[str, int] = {}
_passed: Counter[str] = Counter()


def parse(spec: str) -> dict[str, int]:
    """`name=N,...` to {name: N}; raises ValueError naming the part that is wrong."""
    armed = {}
    for part in filter(str.strip, spec.split(",")):
        found = _SPEC.match(part)
        if not found:
            raise ValueError(f"{part.strip()!r} is not name=N with N >= 1")
        armed[found.group(1)] = int(found.group(2))
    return armed


def arm(spec: str) -> None:
    _armed.clear()
    _passed.clear()
    _armed.update(parse(spec))
    if _armed:
        log.warning("failpoints armed: %s", ", ".join(f"{k}={v}" for k, v in _armed.items()))


def failpoint(name: str) -> None:
    if name not in _armed:
        return
    _passed[name] += 1
    if _passed[name] == _armed[name]:
        log.warning("failpoint %s reached: killing this process", name)
        os.kill(os.getpid(), signal.SIGKILL)
