"""The KPIs service's tables, private to it, in its own schema.

KPI definitions and value history arrive with the KPIs issue; the outbox is here from the start so
that every service's schema has the same shape of plumbing.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from okr_kpis import SCHEMA
from okr_shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA.schema)


outbox = outbox_table(Base.metadata)
