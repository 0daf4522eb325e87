from pydantic_settings import SettingsConfigDict

from okr_shared.settings import ServiceSettings


class KpisSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_KPIS_", env_file=".env", extra="ignore")

    db_pool_size: int = 10
