"""progress history and its compaction cursors

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('history',
    sa.Column('objective_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('objective_id', 'at', 'version'),
    schema='progress'
    )
    op.create_index('ix_history_at', 'history', ['at', 'objective_id', 'version'], unique=False, schema='progress')
    op.create_table('history_compaction',
    sa.Column('tier', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('objective_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tier'),
    schema='progress'
    )
    # The chart's anchor for the objectives that exist already: their current rollup.
    op.execute(
        "INSERT INTO progress.history (objective_id, at, version, progress) "
        "SELECT id, last_calculated, progress_version, progress FROM progress.objectives "
        "WHERE NOT deleted AND progress IS NOT NULL AND last_calculated IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table('history_compaction', schema='progress')
    op.drop_index('ix_history_at', table_name='history', schema='progress')
    op.drop_table('history', schema='progress')
