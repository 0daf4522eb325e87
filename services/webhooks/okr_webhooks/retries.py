"""When to try a failed delivery again, and when to stop: exponential backoff with jitter,
for up to `give_up_after` (24 h) after the first failure. Plain functions of the settings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float
    max_s: float
    give_up_after_s: float

    def delay_s(self, failures: int, rng: random.Random | None = None) -> float:
        """After the n-th failure in a row: base x 2^(n-1), at most max, less up to a half
        at random, so that many deliveries failed together do not come back together."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** min(failures - 1, 60))
        return ceiling * (0.5 + 0.5 * (rng or random).random())

    def next_attempt(
        self, failures: int, at: datetime, first_failed_at: datetime
    ) -> datetime | None:
        """When to try again after a failure at `at`, or None when it is time to give up. The
        last retry falls on the give-up time itself, not a backoff past it."""
        give_up_at = first_failed_at + timedelta(seconds=self.give_up_after_s)
        if at >= give_up_at:
            return None
        return min(at + timedelta(seconds=self.delay_s(failures)), give_up_at)
