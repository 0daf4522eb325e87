from okr_shared.migrations import run_env
from okr_webhooks.models import Base

run_env(Base.metadata)
