from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings


class KpisSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_KPIS_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
    # How far in the future an observed_at may be (clocks differ) before the value is refused.
    max_clock_skew_s: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    # Messages pulled and stored per transaction.
    ingest_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
