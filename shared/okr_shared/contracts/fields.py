"""Field types the contracts share, so that no input reaches PostgreSQL that it would refuse:
ids within BIGINT, and text without NUL characters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

BIGINT_MAX = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)

Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Offset = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Department = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
Description = Annotated[str, StringConstraints(max_length=10_000), NoNul]
Note = Annotated[str, StringConstraints(max_length=2_000), NoNul]


def _iso_text(value: object) -> object:
    """ISO-8601 text only. pydantic would also read 5 or "1700000000" as seconds since 1970: a
    guess (seconds? milliseconds?) that files a value decades away instead of refusing it."""
    if isinstance(value, datetime):  # built in Python, not parsed
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO-8601 date-time such as 2026-03-31T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


# The moments a KPI value may carry. Year 1 in UTC is datetime.min, which asyncpg writes as
# PostgreSQL's -infinity and reads back as a naive datetime (a comparison with an aware one then
# fails); east of UTC it is year 0, which Python cannot hold. No KPI is older than 1900, and
# anything near year 10,000 overflows on the way to UTC.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(3000, 1, 1, tzinfo=UTC)


def _plausible_moment(value: datetime) -> datetime:
    """In UTC (naive means UTC), from 1900 up to the year 3000."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = aware.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise ValueError(
            f"must be from {EARLIEST_MOMENT:%Y-%m-%d} to before {LATEST_MOMENT:%Y-%m-%d} (UTC), "
            f"not {value.isoformat()}"
        )
    return moment


# A moment in UTC within the years any KPI value can have been observed in (a history window).
Moment = Annotated[datetime, AfterValidator(_plausible_moment)]
# The same, from ISO-8601 text only (a value's observed_at).
ObservedAt = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_plausible_moment)]


def too_far_ahead(observed_at: datetime, now: datetime, max_skew: timedelta) -> str | None:
    """Why a value observed at `observed_at` is refused as from the future, or None: clocks
    differ by up to `max_skew` (OKR_KPIS_MAX_CLOCK_SKEW_S), not more."""
    if observed_at <= now + max_skew:
        return None
    return (
        f"observed_at {observed_at.isoformat()} is more than "
        f"{max_skew.total_seconds():.0f} s in the future"
    )
