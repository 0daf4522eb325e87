"""What the CLI reads from the environment (and an optional `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from okr_shared.settings import admin_username, env


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".okr")
    nats_port: Annotated[int, Field(ge=1, le=65535)] = 4222
    postgres_port: Annotated[int, Field(ge=1, le=65535)] = 5432
    nats_url: str | None = None
    database_url: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    progress_workers: Annotated[int, Field(ge=1, le=32)] = 1
    # The first of the services' /metrics ports (one each, counting up); 0 turns them off.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9464
    jwt_secret: Annotated[SecretStr | None, Field(validation_alias=env("OKR_JWT_SECRET"))] = None

    @field_validator("admin_username")
    @classmethod
    def _username(cls, value: str) -> str:
        return admin_username(value)

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()
