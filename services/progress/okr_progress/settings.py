from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings


class ProgressSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_PROGRESS_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
