"""One AsyncAPI document for the whole system: the gateway's own, merged with the one each
service answers on `rpc.<service>.asyncapi`.

Services share contracts, so most schemas and the `rpc.ping`/`rpc.status` channels come from
several of them, identical: they appear once. A key two documents use for different things
keeps the first, and the later one is renamed `<key>:<service>` with every `$ref` to it, so
nothing is lost. A service that does not answer in time is named in `x-missing-services`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification.asyncapi.utils import ref

from okr_gateway import __version__
from okr_shared import subjects
from okr_shared.asyncapi import SCHEMA_VERSION, Documented, service_document
from okr_shared.contracts.common import Ping
from okr_shared.errors import Unavailable
from okr_shared.rpc import call_json

# Referenced sections first, so that what refers to a renamed key is compared once rewritten.
SECTIONS = (
    ("servers",),
    ("components", "schemas"),
    ("components", "messages"),
    ("channels",),
    ("operations",),
)
CACHE_S = 30.0  # a complete document
PARTIAL_CACHE_S = 5.0  # one with a service missing: while it is down, ask again only this often


def merge(
    documents: Sequence[tuple[str, dict[str, Any]]], missing: Sequence[str]
) -> dict[str, Any]:
    """`documents` as (service, document) pairs, the gateway's first."""
    merged: dict[str, Any] = {
        "asyncapi": SCHEMA_VERSION,
        "info": {
            "title": "okr",
            "version": __version__,
            "description": _description([name for name, _ in documents], missing),
        },
        "defaultContentType": "application/json",
    }
    if missing:
        merged["x-missing-services"] = list(missing)
    for service, document in documents:
        incoming = json.loads(json.dumps(document))  # renamed in place: a copy
        while _rename_one_conflict(merged, incoming, service):
            pass  # a rename rewrites refs, which may make another key differ: look again
        for path in SECTIONS:
            held = _section(merged, path)
            for key, value in _section(incoming, path).items():
                held.setdefault(key, value)
    # The document is public, and where NATS runs inside a deployment is not its business.
    merged.pop("servers", None)
    for channel in merged.get("channels", {}).values():
        channel.pop("servers", None)
    return merged


def _rename_one_conflict(merged: dict[str, Any], incoming: dict[str, Any], service: str) -> bool:
    for path in SECTIONS:
        held, offered = _section(merged, path), _section(incoming, path)
        for key in list(offered):
            if key in held and held[key] != offered[key]:
                _rename(incoming, path, key, f"{key}:{service}")
                return True
    return False


def _description(found: Sequence[str], missing: Sequence[str]) -> str:
    text = (
        "Every NATS subject of okr: the JetStream events and the subjects HR systems publish "
        "KPI values on, and the request/reply subjects between the gateway and the services. "
        "They are on the NATS server of your deployment (`./okr up` prints its URL). "
        f"Merged from: {', '.join(found)}."
    )
    if missing:
        text += f" Did not answer in time, so not shown: {', '.join(missing)}."
    return text


def _section(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    here = document
    for part in path:
        here = here.setdefault(part, {})
    return here


def _rename(document: dict[str, Any], path: tuple[str, ...], old: str, new: str) -> None:
    section = _section(document, path)
    section[new] = section.pop(old)
    if path == ("components", "messages"):
        section[new]["title"] = new
    before, after = ref(*path, old)["$ref"], ref(*path, new)["$ref"]
    _rewrite_refs(document, before, after)


def _rewrite_refs(node: Any, before: str, after: str) -> None:
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and (target == before or target.startswith(before + "/")):
            node["$ref"] = after + target[len(before) :]
        for value in node.values():
            _rewrite_refs(value, before, after)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, before, after)


@dataclass
class SystemDocument:
    """Builds the merged document on request; keeps a complete one for CACHE_S."""

    broker: NatsBroker
    gateway: Sequence[Documented]
    timeout_s: float
    _cached: tuple[float, dict[str, Any]] | None = field(default=None, init=False)
    _own: dict[str, Any] | None = field(default=None, init=False)
    # One build at a time: the route is public, and a burst must not fan out to the services.
    _building: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def get(self) -> dict[str, Any]:
        async with self._building:
            if self._cached and time.monotonic() < self._cached[0]:
                return self._cached[1]
            return await self._build()

    async def _build(self) -> dict[str, Any]:
        answers = await asyncio.gather(
            *(self._ask(service) for service in subjects.SERVICES), return_exceptions=True
        )
        found = [
            (service, answer)
            for service, answer in zip(subjects.SERVICES, answers, strict=True)
            if isinstance(answer, dict)
        ]
        if not found:
            raise Unavailable("no service answered with its AsyncAPI document; try again")
        missing = [service for service in subjects.SERVICES if service not in dict(found)]
        if self._own is None:  # the gateway's routes are fixed once it runs
            self._own = service_document("gateway", __version__, self.broker, self.gateway)
        document = merge([("gateway", self._own), *found], missing)
        self._cached = (time.monotonic() + (PARTIAL_CACHE_S if missing else CACHE_S), document)
        return document

    async def _ask(self, service: str) -> dict[str, Any]:
        raw = await call_json(
            self.broker, subjects.rpc_asyncapi(service), Ping(), timeout=self.timeout_s
        )
        document: dict[str, Any] = json.loads(raw)
        return document
