from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings

DAY_S = 86_400.0


class ProgressSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_PROGRESS_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
    # Progress history: every point is kept this long; after that, the last of each hour ...
    history_every_change_s: Annotated[float, Field(gt=0)] = DAY_S
    # ... up to this age; after that, the last of each day.
    history_hourly_s: Annotated[float, Field(gt=0)] = 90 * DAY_S
    # How often a progress process thins the history out (one at a time among replicas) ...
    history_compact_every_s: Annotated[float, Field(gt=0)] = 600.0
    # ... and how many points one of its transactions looks at.
    history_compact_batch: Annotated[int, Field(ge=100, le=100_000)] = 10_000

    @model_validator(mode="after")
    def hourly_after_every_change(self) -> Self:
        if self.history_hourly_s <= self.history_every_change_s:
            raise ValueError(
                "history_hourly_s must be longer than history_every_change_s "
                f"({self.history_hourly_s:g} <= {self.history_every_change_s:g})"
            )
        return self
