from okr_objectives.models import Base
from okr_shared.migrations import run_env

run_env(Base.metadata)
