"""Field types the contracts share, so that no input reaches PostgreSQL that it would refuse:
ids within BIGINT, and text without NUL characters."""

from __future__ import annotations

from datetime import datetime
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


def _iso_text(value: object) -> object:
    """ISO-8601 text only. pydantic would also read 5 or "1700000000" as seconds since 1970: a
    guess (seconds? milliseconds?) that files a value decades away instead of refusing it."""
    if isinstance(value, datetime):  # built in Python, not parsed
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO-8601 date-time such as 2026-03-31T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
