"""HTTP models of integrations: what an admin sends, and what each answer shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

IntegrationName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9._-]{1,37}$"),
    Field(description="2-38 characters: letters, digits, '.', '_' or '-'; stored in lower case"),
]
# What the `integration` role may do, and so all its key may be given.
Scope = Literal["values:write", "kpis:read"]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: IntegrationName
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=2)] = [
        "values:write",
        "kpis:read",
    ]


class IntegrationResponse(BaseModel):
    id: int
    name: str
    user_id: int = Field(description="its user, of role integration, which has no password")
    scopes: list[str]
    nats_user: str
    subject_prefix: str = Field(
        description="it publishes `<prefix>.<kpi_id>` and `<prefix>.batch`, nothing else"
    )
    inbox_prefix: str = Field(
        description="its NATS client must take replies here (nats-py `inbox_prefix`, Go "
        "`nats.CustomInboxPrefix`, the nats CLI's `--inbox-prefix`)"
    )
    source: str = Field(description="what the value history shows as the source of its values")
    created_at: datetime
    revoked_at: datetime | None
    last_connected_at: datetime | None
    connections: int = Field(description="NATS connections it has opened")
    last_published_at: datetime | None
    values_sent: int = Field(description="values that reached ingest, refused ones included")
    values_refused: int
    last_refused_at: datetime | None


class IntegrationCreated(IntegrationResponse):
    """Shown once: okr keeps only a hash of the secrets."""

    nats_url: str = Field(description="connect with it as it is: the credentials are inside")
    nats_password: str
    api_key: str = Field(
        description="for the REST API (Authorization: Bearer ...), with the integration's scopes"
    )
    warning: str = "store nats_url (and api_key) now: they are shown only once"


class IntegrationRevoked(BaseModel):
    id: int
    revoked_at: datetime
    connections_closed: int = Field(description="open NATS connections it had, now closed")
