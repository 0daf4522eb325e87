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
    db_pool_size: int = 10
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
