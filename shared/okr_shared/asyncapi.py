"""A service's AsyncAPI document, written by FastStream from its broker: the request/reply
subscribers, what its outbox publishes, and what its own consumers receive
(okr_shared.event_channels).

Consumers and the outbox relay are plain nats-py, which FastStream cannot see; so each declared
channel is given to the service's broker as a publisher that nothing is sent through, or as a
subscriber made once the broker has started, which FastStream never starts on its own.
Each service answers `rpc.<service>.asyncapi` with its own; the gateway merges them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, TypeAdapter

from okr_shared import rpc, subjects
from okr_shared.consumer import BatchConsumer
from okr_shared.contracts.common import Ping, ServiceInfo
from okr_shared.errors import Unavailable
from okr_shared.event_channels import Channel
from okr_shared.outbox import Outbox
from okr_shared.rpc import RpcRouter
from okr_shared.schema_examples import example_of
from okr_shared.subjects import dead_letter_subject

SCHEMA_VERSION = "3.0.0"


@dataclass(frozen=True)
class Documented:
    """A declared channel as one service uses it: `how` says in what way, for the reader."""

    channel: Channel
    receives: bool  # False: the service sends on it
    how: str

    def key(self, service: str) -> str:
        return f"{self.channel.address}:{service}.{'receive' if self.receives else 'send'}"

    def description(self, service: str) -> str:
        stream = self.channel.stream
        stored = f"Stored in stream `{stream.name}`"
        if stream.dead_letters:
            dlq = dead_letter_subject(self.channel.address)
            stored += f"; refused messages go to `{stream.dlq_name}` on `{dlq}`"
        verb = "receives" if self.receives else "sends"
        return f"{self.channel.summary}\n\n{service} {verb} it {self.how}. {stored}."


def from_workers(workers: Iterable[object]) -> list[Documented]:
    """What a service's running consumers declare."""
    found: list[Documented] = []
    for worker in workers:
        if isinstance(worker, BatchConsumer):
            how = f"with the durable pull consumer `{worker.durable}` on `{worker.filter_subject}`"
            found += [Documented(c, True, how) for c in worker.channels]
    return found


def outbox_publishes(outbox: Outbox) -> list[Documented]:
    how = "through its transactional outbox (Nats-Msg-Id = event_id)"
    return [Documented(c, False, how) for c in outbox.publishes.channels]


def declare_publishes(broker: NatsBroker, service: str, documented: Iterable[Documented]) -> None:
    """What a service publishes past FastStream (an outbox relay, a JetStream publish that
    waits for the stream's acknowledgement), declared as publishers of its own broker: FastStream
    documents them with the rest, and nothing is ever sent through them."""
    for item in documented:
        channel = item.channel
        broker.publisher(
            channel.address,
            schema=channel.payload,
            title=item.key(service),
            description=item.description(service),
        )


def declare_receives(broker: NatsBroker, service: str, documented: Iterable[Documented]) -> None:
    """What a service receives past FastStream (its batch consumers, a core subscription),
    declared as subscribers of its own broker once that has started: FastStream starts a
    subscriber made later only when asked to (`subscriber.start()`), so these are never
    started. Even if they were, they would lose nothing: a core subscription to a copy, which
    answers no one (`no_reply`), with a handler that does nothing."""
    for item in documented:
        if item.receives:
            channel = item.channel

            async def receive(body: Any) -> None:
                """Never called: the service's own consumer receives this channel."""

            # FastStream documents the payload from the annotation; the model is known here.
            receive.__annotations__ = {"body": channel.payload, "return": None}
            broker.subscriber(
                channel.address,
                title=item.key(service),
                description=item.description(service),
                no_reply=True,
            )(receive)


def service_document(
    service: str, version: str, broker: NatsBroker, documented: Sequence[Documented]
) -> dict[str, Any]:
    """`documented`: the channels the service declared to `broker` (declare_publishes,
    declare_receives), for their parameters and examples."""
    spec = AsyncAPI(
        broker,
        title=f"okr {service}",
        version=version,
        description=f"What the {service} service receives and sends on NATS.",
        schema_version=SCHEMA_VERSION,
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    for item in documented:
        _add_parameters_and_examples(document, item.key(service), item.channel)
    _add_request_reply_contracts(document)
    for server in (document.get("servers") or {}).values():
        server["host"] = server["host"].rpartition("@")[2]  # never a credential in a document
    return document


def _add_parameters_and_examples(document: dict[str, Any], key: str, channel: Channel) -> None:
    """AsyncAPI wants each `{name}` of an address declared; FastStream leaves examples in the
    payload's schema, where the HTML renderer does not show them as messages."""
    found = document["channels"].get(key)
    if found is None:
        return
    if channel.parameters:
        found["parameters"] = {
            name: {"description": f"the {name.removesuffix('_id')}'s id"}
            for name in channel.parameters
        }
    examples = TypeAdapter(cast(Any, channel.payload)).json_schema().get("examples", [])
    messages = document.get("components", {}).get("messages", {})
    for name, message in messages.items():
        if name.startswith(f"{key}:"):
            message["examples"] = [
                {"name": f"example {i}", "payload": example}
                for i, example in enumerate(examples, 1)
            ]


COMPONENT_KEY = re.compile(r"[^A-Za-z0-9._-]")
REPLY = (
    "Sent to the request's reply subject: the result, or a refusal, whose header Okr-Error "
    'names its code and whose body is {"code", "message", "details"}. A large result comes in '
    "numbered chunks (headers Okr-Chunk, Okr-Chunks) to be joined in order."
)


def _add_request_reply_contracts(document: dict[str, Any]) -> None:
    """FastStream documents what a subscriber takes, not what it answers: each request/reply
    subject's result goes in `x-reply`, with an example of the request beside it."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    messages = components.get("messages", {})
    for channel in document.get("channels", {}).values():
        contract = rpc.CONTRACTS.get(channel.get("address", ""))
        if contract is None:
            continue
        for reference in channel.get("messages", {}).values():
            message = messages.get(reference["$ref"].rsplit("/", 1)[1])
            if message is None:
                continue
            message["examples"] = [{"name": "request", "payload": _example(contract.request)}]
            message["x-reply"] = {
                "description": REPLY,
                "payload": _schema(contract.result, schemas),
                "examples": [{"name": "answer", "payload": _example(contract.result)}],
            }
            if contract.refuses:
                # Besides `invalid` (a malformed request) and `unavailable`, which any may answer.
                message["x-refuses"] = sorted({e.code for e in contract.refuses})


def _schema(annotation: object, schemas: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a type, its models moved into components/schemas and referenced."""
    found: dict[str, Any] = _plain_discriminators(
        TypeAdapter(cast(Any, annotation)).json_schema(ref_template="#/components/schemas/{model}")
    )
    schemas.update(found.pop("$defs", {}))
    title = found.get("title")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and title:
        key = COMPONENT_KEY.sub("_", title)  # `Page[Objective]`: AsyncAPI keys allow no brackets
        schemas[key] = found
        return {"$ref": f"#/components/schemas/{key}"}
    return found


def _plain_discriminators(schema: Any) -> Any:
    """pydantic writes a tagged union's `discriminator` as OpenAPI's object (`propertyName`,
    `mapping`); an AsyncAPI schema's is the property's name alone."""
    if isinstance(schema, dict):
        return {
            key: value["propertyName"]
            if key == "discriminator" and isinstance(value, dict) and "propertyName" in value
            else _plain_discriminators(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_plain_discriminators(item) for item in schema]
    return schema


def _example(annotation: object) -> Any:
    schema = TypeAdapter(cast(Any, annotation)).json_schema()
    return example_of(schema, schema.get("$defs", {}))


def asyncapi_router(
    info: ServiceInfo,
    broker: NatsBroker,
    documented: Callable[[], Sequence[Documented]],
    ready: Callable[[], bool],
) -> RpcRouter:
    """`documented`: what the service's batch consumers and outboxes declare (fixed once it is
    ready)."""
    rpc = RpcRouter(queue=info.service)
    built: list[bytes] = []

    @rpc.route(subjects.rpc_asyncapi(info.service), chunked=True, result=Any)
    async def asyncapi(_: Ping) -> bytes:
        """This service's AsyncAPI document (the gateway merges them at /asyncapi.json)."""
        if not ready():
            raise Unavailable(f"{info.instance} is starting")
        if not built:
            document = service_document(info.service, info.version, broker, documented())
            built.append(json.dumps(document).encode())
        return built[0]

    return rpc
