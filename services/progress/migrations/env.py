from okr_progress.models import Base
from okr_shared.migrations import run_env

run_env(Base.metadata)
