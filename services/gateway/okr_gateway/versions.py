"""Optimistic concurrency over HTTP, for every route that changes a versioned object: the
version travels as an ETag, and comes back in If-Match (or in the body)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from okr_shared.contracts.fields import BIGINT_MAX
from okr_shared.errors import Invalid

IfMatch = Annotated[
    str | None, Header(description='the version you read, as its ETag ("3"): 409 if it changed')
]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or not (
        1 <= int(value) <= BIGINT_MAX
    ):
        raise Invalid(f'If-Match must be the ETag of a version, like "3" (got {if_match[:40]!r})')
    return int(value)


def one_version(if_match: str | None, in_body: int | None) -> int | None:
    from_header = expected_version(if_match)
    if from_header is not None and in_body is not None and from_header != in_body:
        raise Invalid(f"If-Match says version {from_header} but the body says {in_body}; send one")
    return from_header if from_header is not None else in_body
