from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings


class ObjectivesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_OBJECTIVES_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
