from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings

DAY_S = 86_400.0


class WebhooksSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_WEBHOOKS_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
    # Endpoints on private, loopback, link-local and other non-public addresses are refused,
    # at registration and on every connection, unless this is set (tests, a lab network).
    allow_private: bool = False
    # Deliveries in flight at once, per process.
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 64
    # One attempt's whole time: connecting, sending, and the receiver's answer.
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    # Retries wait base x 2^(n-1), at most max, less a random part of up to a half (jitter)...
    retry_base_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    retry_max_s: Annotated[float, Field(gt=0, le=DAY_S)] = 3600.0
    # ... until this long after an endpoint's first failure; then it is disabled.
    give_up_after_s: Annotated[float, Field(gt=0, le=30 * DAY_S)] = DAY_S
    # Finished deliveries (and their attempts) kept for GET .../deliveries.
    keep_finished_s: Annotated[float, Field(gt=0)] = 7 * DAY_S
    # Events turned into deliveries per transaction.
    fanout_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
