"""periods and grades

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'periods',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('quarter', sa.String(length=2), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.BigInteger(), nullable=True),
        sa.CheckConstraint("quarter IN ('', 'Q1', 'Q2', 'Q3', 'Q4')", name=op.f('ck_periods_quarter')),
        sa.PrimaryKeyConstraint('year', 'quarter', name=op.f('pk_periods')),
        schema='objectives',
    )
    op.add_column('objectives', sa.Column('grade', sa.Double(), nullable=True), schema='objectives')
    op.add_column('objectives', sa.Column('grade_version', sa.Integer(), server_default='0', nullable=False), schema='objectives')


def downgrade() -> None:
    op.drop_column('objectives', 'grade_version', schema='objectives')
    op.drop_column('objectives', 'grade', schema='objectives')
    op.drop_table('periods', schema='objectives')
