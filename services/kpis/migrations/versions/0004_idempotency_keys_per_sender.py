"""idempotency keys per sender

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:20:00

A value's idempotency key was unique per KPI across every sender, so one sender could use up
another's key and have that sender's value skipped as a repeat. It is now unique per KPI and
sender (`source`, which comes from the NATS subject and cannot be forged). Values stored before
0003 have no sender; their keys stay unique among themselves only in the sense PostgreSQL gives
NULLs (distinct), which is harmless: new values always have one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'uq_kpi_values_kpi_id_source_idempotency_key',
        'kpi_values',
        ['kpi_id', 'source', 'idempotency_key'],
        unique=True,
        schema='kpis',
    )
    op.drop_index('uq_kpi_values_kpi_id_idempotency_key', table_name='kpi_values', schema='kpis')


def downgrade() -> None:
    # Fails if two senders have used one key for one KPI since: which value to drop is not
    # this migration's to choose.
    op.create_index(
        'uq_kpi_values_kpi_id_idempotency_key',
        'kpi_values',
        ['kpi_id', 'idempotency_key'],
        unique=True,
        schema='kpis',
    )
    op.drop_index(
        'uq_kpi_values_kpi_id_source_idempotency_key', table_name='kpi_values', schema='kpis'
    )
