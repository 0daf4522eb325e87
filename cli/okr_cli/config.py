"""What the CLI reads from the environment (and an optional `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # `objectives=2,kpis=2,progress=3`: processes per service under `okr up` (default 1 each).
    replicas: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # The first of the services' /metrics ports (one each, counting up); 0 turns them off.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9464
    jwt_secret: Annotated[SecretStr | None, Field(validation_alias=env("OKR_JWT_SECRET"))] = None
    # `okr migrate` against OKR_DATABASE_URL (the owner): each service's login role's password.
    # Given, the roles are created or updated; `okr up` makes and keeps its own in the data dir.
    objectives_database_password: SecretStr | None = None
    kpis_database_password: SecretStr | None = None
    progress_database_password: SecretStr | None = None
    webhooks_database_password: SecretStr | None = None
    gateway_database_password: SecretStr | None = None

    @field_validator("replicas", mode="before")
    @classmethod
    def _replicas(cls, value: object) -> object:
        return parse_replicas(value) if isinstance(value, str) else value

    @field_validator("admin_username")
    @classmethod
    def _username(cls, value: str) -> str:
        return admin_username(value)

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def role_passwords(self) -> dict[str, str] | None:
        """The service roles' passwords, or None when none is set; some but not all is
        an error that names the missing ones."""
        given = {
            service: secret.get_secret_value()
            for service, secret in (
                ("objectives", self.objectives_database_password),
                ("kpis", self.kpis_database_password),
                ("progress", self.progress_database_password),
                ("webhooks", self.webhooks_database_password),
                ("gateway", self.gateway_database_password),
            )
            if secret is not None
        }
        missing = [s for s in SERVICE_NAMES if s not in given]
        if given and missing:
            names = ", ".join(f"OKR_{s.upper()}_DATABASE_PASSWORD" for s in missing)
            raise ValueError(f"set {names} too: each service needs its own role")
        return given or None


SERVICE_NAMES = ("objectives", "kpis", "progress", "webhooks", "gateway")
MAX_REPLICAS = 32


def parse_replicas(text: str) -> dict[str, int]:
    """`objectives=2,kpis=2,progress=3` → {"objectives": 2, ...}; each error says what to fix."""
    replicas: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, equals, count = item.partition("=")
        service = service.strip()
        if not equals or service not in SERVICE_NAMES:
            raise ValueError(
                f"{item!r}: write SERVICE=N with SERVICE one of {', '.join(SERVICE_NAMES)}"
            )
        if not count.strip().isdigit() or not 1 <= int(count) <= MAX_REPLICAS:
            raise ValueError(f"{item!r}: N must be a whole number from 1 to {MAX_REPLICAS}")
        replicas[service] = int(count)
    return replicas
