"""check-ins

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'check_ins',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('objective_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('confidence', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('progress_percentage', sa.Double(), nullable=False),
        sa.Column('author_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("status IN ('on_track', 'at_risk', 'off_track')", name=op.f('ck_check_ins_status')),
        sa.CheckConstraint('confidence BETWEEN 0 AND 10', name=op.f('ck_check_ins_confidence')),
        sa.ForeignKeyConstraint(['objective_id'], ['objectives.objectives.id'], name=op.f('fk_check_ins_objective_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
        schema='objectives',
    )
    op.create_index('ix_check_ins_objective_id', 'check_ins', ['objective_id', 'id'], unique=False, schema='objectives')
    op.add_column('objectives', sa.Column('last_check_in', postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema='objectives')


def downgrade() -> None:
    op.drop_column('objectives', 'last_check_in', schema='objectives')
    op.drop_index('ix_check_ins_objective_id', table_name='check_ins', schema='objectives')
    op.drop_table('check_ins', schema='objectives')
