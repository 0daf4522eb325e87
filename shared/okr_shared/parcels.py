"""Request bodies larger than a NATS message, such as an import of 10,000 objectives.

The caller puts the body in a JetStream object store (which splits it into chunks of its own)
and sends a request that names it; the service that answers reads it from there. The bucket is
for the services' NATS user only: an integration's or the HR system's user may not touch
`$O.` subjects. A parcel is removed by its sender once answered, and by the bucket's age limit
if its sender died first.
"""

from __future__ import annotations

from uuid import uuid4

from faststream.nats import NatsBroker
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore

from okr_shared.subjects import PARCELS_BUCKET

MAX_AGE_S = 3600.0


async def _bucket(broker: NatsBroker, replicas: int) -> ObjectStore:
    return await broker.object_storage(PARCELS_BUCKET, ttl=MAX_AGE_S, replicas=replicas)


async def send(broker: NatsBroker, body: bytes, *, replicas: int = 1) -> str:
    """Keep `body` and answer the name a request gives for it."""
    name = uuid4().hex
    await (await _bucket(broker, replicas)).put(name, body)
    return name


async def receive(broker: NatsBroker, name: str, *, replicas: int = 1) -> bytes | None:
    """The parcel's body, or None if there is no such parcel (any more)."""
    try:
        found = await (await _bucket(broker, replicas)).get(name)
    except ObjectNotFoundError:
        return None
    return found.data


async def discard(broker: NatsBroker, name: str, *, replicas: int = 1) -> None:
    await (await _bucket(broker, replicas)).delete(name)
