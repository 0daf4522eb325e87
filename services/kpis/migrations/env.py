from okr_kpis.models import Base
from okr_shared.migrations import run_env

run_env(Base.metadata)
