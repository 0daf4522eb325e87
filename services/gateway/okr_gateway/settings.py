from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from okr_shared.nats_auth import split_credentials
from okr_shared.nats_callout import account_public_key
from okr_shared.settings import ServiceSettings, admin_username, env


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_GATEWAY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Let other gateway processes listen on the same port (`okr up --replicas gateway=N`).
    share_port: bool = False
    data_dir: Annotated[Path, Field(validation_alias=env("OKR_DATA_DIR"))] = Path(".okr")
    jwt_secret: Annotated[SecretStr | None, Field(validation_alias=env("OKR_JWT_SECRET"))] = None
    # Keys that signed tokens still in use (comma-separated): accepted, never used to sign.
    jwt_previous_secrets: Annotated[
        SecretStr | None, Field(validation_alias=env("OKR_JWT_PREVIOUS_SECRETS"))
    ] = None
    jwt_ttl_minutes: Annotated[
        int, Field(ge=1, le=24 * 60, validation_alias=env("OKR_JWT_TTL_MINUTES"))
    ] = 60
    admin_username: Annotated[str, Field(validation_alias=env("OKR_ADMIN_USERNAME"))] = "admin"
    admin_password: Annotated[
        SecretStr | None, Field(validation_alias=env("OKR_ADMIN_PASSWORD"))
    ] = None
    rpc_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    # For answers that take a while to build (a whole tree of 100,000 objectives).
    rpc_large_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    # Writes (POST, PUT, DELETE) per user per minute; 0 turns the limit off.
    writes_per_minute: Annotated[int, Field(ge=0)] = 60
    # The same for each API key, apart from people's: 100 a second, enough for a bulk job
    # (each batch request carries up to 1,000 values), not for a runaway loop.
    key_writes_per_minute: Annotated[int, Field(ge=0)] = 6000
    # argon2 checks at once per gateway process (each uses up to 4 threads and 64 MiB).
    password_hashing_concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    # Failed sign-ins before each further one locks the account (or the client address) for
    # 1 s, 2 s, 4 s ... up to sign_in_max_lockout_s. Capped, so that nobody can lock a user out
    # for longer than that after the last failure.
    sign_in_free_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    sign_in_free_failures_per_address: Annotated[int, Field(ge=1, le=100_000)] = 20
    sign_in_max_lockout_s: Annotated[int, Field(ge=1, le=3600)] = 60
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses, or "*").
    # Empty: the client is the TCP peer, so nobody can pick the address the sign-in throttle
    # counts by sending a header.
    forwarded_allow_ips: str = ""
    db_pool_size: int = 10
    # Answer the hot objective reads (one, its children and ancestors, the tree) from a model
    # in this process, kept current by the events (okr_gateway/read_model). Off: every read
    # asks the objectives service, and the process holds no copy of the objectives.
    read_model: bool = True
    # How often the open progress streams' users are looked at (deactivated, changed): one
    # query for all of them.
    stream_recheck_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # How often each stream checks its token as a request would (expired, revoked) and asks for
    # its whole view again, in case it missed an objective event (NATS reconnecting).
    stream_resync_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    # The largest request body, in bytes (413 beyond it, before the body is read or the caller
    # authenticated): an objective's longest description fits many times over.
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    # The same for the bulk route (POST /api/v1/kpis/values/batch): 1,000 items of the longest
    # source and idempotency key allowed fit.
    max_batch_body_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    # And for an import (POST /api/v1/objectives/import): 10,000 rows of 1.6 KB each.
    max_import_body_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    # How far ahead a KPI value's observed_at may be: the KPIs service's own setting, read here
    # too so that REST refuses such a value with 422 instead of accepting it for a dead letter.
    values_max_clock_skew_s: Annotated[
        float, Field(ge=0, le=86_400, validation_alias=env("OKR_KPIS_MAX_CLOCK_SKEW_S"))
    ] = 300.0
    # Integrations (one NATS identity each) need both: the account nkey seed whose public key
    # the NATS servers name as their auth callout's issuer, and a user of NATS's system account,
    # which closes a revoked integration's connections.
    nats_callout_seed: Annotated[
        SecretStr | None, Field(validation_alias=env("OKR_NATS_CALLOUT_SEED"))
    ] = None
    nats_system_url: Annotated[
        SecretStr | None, Field(validation_alias=env("OKR_NATS_SYSTEM_URL"))
    ] = None
    # The NATS URL integrations are told to connect to; default: OKR_NATS_URL's first server.
    nats_public_url: Annotated[str | None, Field(validation_alias=env("OKR_NATS_PUBLIC_URL"))] = (
        None
    )

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (or unset, to generate one)")
        return value

    @field_validator("nats_callout_seed")
    @classmethod
    def _callout_seed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        account_public_key(value.get_secret_value())  # a ValueError names what is wrong
        return value

    @model_validator(mode="after")
    def _integrations_need_both(self) -> Self:
        if self.nats_callout_seed is not None and not self.nats_system_url:
            raise ValueError(
                "OKR_NATS_CALLOUT_SEED needs OKR_NATS_SYSTEM_URL too (a user of NATS's system "
                "account): revoking an integration closes its connections through it"
            )
        return self

    @property
    def integrations_nats_url(self) -> str:
        if self.nats_public_url:
            return self.nats_public_url
        servers, _ = split_credentials(self.nats_url)
        return servers[0]

    @field_validator("jwt_previous_secrets")
    @classmethod
    def _each_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(len(key) < 32 for key in previous_keys(value)):
            raise ValueError("each key must be at least 32 characters (comma-separated)")
        return value

    @property
    def jwt_previous_keys(self) -> tuple[str, ...]:
        return previous_keys(self.jwt_previous_secrets) if self.jwt_previous_secrets else ()

    @field_validator("admin_username")
    @classmethod
    def _username(cls, value: str) -> str:
        return admin_username(value)

    @field_validator("admin_password")
    @classmethod
    def _admin_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value


def previous_keys(value: SecretStr) -> tuple[str, ...]:
    return tuple(key.strip() for key in value.get_secret_value().split(",") if key.strip())
