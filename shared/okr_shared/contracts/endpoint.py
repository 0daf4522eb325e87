"""A request/reply endpoint, declared once: its subject, what it takes, what it answers and
which refusals it may answer with. The service that serves it (`RpcRouter.serve`) and whoever
calls it (`rpc.ask`, the gateway's `Services.ask`) both name the declaration, so neither side
restates the other's types, and the AsyncAPI document reads them from the same place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from okr_shared.errors import OkrError

# A reply with this header is a refusal: its body is `{code, message, details}`, and the header
# names the code. Any other reply's body is the result (empty for None).
REFUSED = "Okr-Error"

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res")


@dataclass(frozen=True)
class RpcEndpoint(Generic[Req, Res]):
    subject: str
    request: type[Req]
    result: type[Res]  # a model, or `list[...]`, `Page[...]`, `type(None)`
    # What it may refuse with, beyond `invalid` (a malformed request) and `unavailable`.
    refuses: tuple[type[OkrError], ...] = ()
    # The answer is sent in chunks: for results that may be larger than a NATS message may be
    # (a whole tree, 10,000 ancestors). Its handler may return the JSON bytes of its result.
    chunked: bool = False
