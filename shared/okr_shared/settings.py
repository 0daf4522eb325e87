"""The settings base: every service builds one subclass in its `main.py` and passes it down."""

from __future__ import annotations

import re
import sys
from typing import Annotated, TypeVar

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from okr_shared import failpoints
from okr_shared.db import asyncpg_url
from okr_shared.pace import Pace


def env(name: str) -> AliasChoices:
    """Read a field from one exact variable name, whatever the class's prefix."""
    return AliasChoices(name)


class ServiceSettings(BaseSettings):
    """Shared by all services: where NATS and PostgreSQL are, and how loudly to log.

    Subclasses set `env_prefix` (`OKR_OBJECTIVES_`, ...) for their own fields; the fields here
    read the same `OKR_*` variables in every service.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    nats_url: Annotated[str, Field(validation_alias=env("OKR_NATS_URL"))] = "nats://127.0.0.1:4222"
    database_url: Annotated[str, Field(validation_alias=env("OKR_DATABASE_URL"))] = (
        "postgresql://okr@127.0.0.1:5432/okr"
    )
    # Copies of each JetStream stream: 1 on one server, 3 on a three-node cluster.
    nats_replicas: Annotated[int, Field(ge=1, le=5, validation_alias=env("OKR_NATS_REPLICAS"))] = 1
    log_level: Annotated[str, Field(validation_alias=env("OKR_LOG_LEVEL"))] = "INFO"
    instance: Annotated[str, Field(validation_alias=env("OKR_INSTANCE"))] = ""
    # Prometheus metrics on an HTTP port of this process's own; 0 turns them off.
    metrics_host: Annotated[str, Field(validation_alias=env("OKR_METRICS_HOST"))] = "127.0.0.1"
    metrics_port: Annotated[
        int, Field(ge=0, le=65535, validation_alias=env("OKR_METRICS_PORT"))
    ] = 0
    # `json` (one object per line, for log collectors) or `text` (for a person at a terminal).
    log_format: Annotated[str, Field(validation_alias=env("OKR_LOG_FORMAT"))] = "json"
    # Where spans go (OpenTelemetry's own variable); unset, they are made but never exported.
    otlp_endpoint: Annotated[str, Field(validation_alias=env("OTEL_EXPORTER_OTLP_ENDPOINT"))] = ""
    # Chaos runs only: where this process kills itself (see okr_shared.failpoints).
    failpoints: Annotated[str, Field(validation_alias=env("OKR_FAILPOINTS"))] = ""
    # Health against the pace (okr_shared.pace): percentage points an objective may trail its
    # expected progress and still be on track, or at risk. Every service must read the same.
    health_on_track_within: Annotated[
        float, Field(ge=0, le=100, validation_alias=env("OKR_HEALTH_ON_TRACK_WITHIN"))
    ] = 10.0
    health_at_risk_within: Annotated[
        float, Field(ge=0, le=100, validation_alias=env("OKR_HEALTH_AT_RISK_WITHIN"))
    ] = 25.0

    @property
    def pace(self) -> Pace:
        return Pace(self.health_on_track_within, self.health_at_risk_within)

    @field_validator("health_at_risk_within")
    @classmethod
    def _health_thresholds_in_order(cls, value: float, info: ValidationInfo) -> float:
        if value < info.data.get("health_on_track_within", 0):
            raise ValueError("must not be below OKR_HEALTH_ON_TRACK_WITHIN")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_scheme(cls, value: str) -> str:
        for url in value.split(","):
            if not url.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError("must be nats://host:port (several may be given, comma-separated)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        return asyncpg_url(value)

    @field_validator("failpoints")
    @classmethod
    def _failpoints(cls, value: str) -> str:
        failpoints.parse(value)
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in {"json", "text"}:
            raise ValueError("must be json or text")
        return value.lower()

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level


S = TypeVar("S", bound=BaseSettings)


def admin_username(value: str) -> str:
    """Usernames are stored in lower case; sign-in lowers what is typed, so must this."""
    name = value.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{2,49}", name):
        raise ValueError("must be 3-50 letters, digits, '.', '_' or '-'")
    return name


class ConfigurationError(SystemExit):
    """Bad configuration: one line naming the variable and what is wrong, then exit 2."""


def load_settings(cls: type[S], program: str) -> S:
    try:
        return cls()
    except ValidationError as err:
        problems = "; ".join(
            f"{variable_name(cls, error['loc'])}: {error['msg']}" for error in err.errors()
        )
        print(f"{program}: bad configuration: {problems}", file=sys.stderr)
        raise ConfigurationError(2) from None


def variable_name(cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a validation error's location."""
    name = str(loc[0]) if loc else "?"
    field = cls.model_fields.get(name)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        return str(field.validation_alias.choices[0])
    if name.startswith("OKR_"):
        return name
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()
