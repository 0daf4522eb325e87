"""value senders and ingest counts per sender

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:30:00

`kpi_values.source` becomes who sent a value (from its NATS subject); what the payload said is
kept in `source_label`. Values stored before this revision were not attributed to a sender, so
their `source` becomes NULL and their old text moves to the label.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('kpi_values', sa.Column('source_label', sa.String(length=200), nullable=True), schema='kpis')
    op.execute("UPDATE kpis.kpi_values SET source_label = source, source = NULL WHERE source IS NOT NULL")
    op.create_table('ingest_sources',
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('values_sent', sa.BigInteger(), nullable=False),
    sa.Column('values_refused', sa.BigInteger(), nullable=False),
    sa.Column('last_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_refused_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_ingest_sources')),
    schema='kpis'
    )


def downgrade() -> None:
    op.drop_table('ingest_sources', schema='kpis')
    op.execute("UPDATE kpis.kpi_values SET source = source_label")
    op.drop_column('kpi_values', 'source_label', schema='kpis')
