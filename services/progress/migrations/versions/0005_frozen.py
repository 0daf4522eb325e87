"""frozen objectives (closed periods)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('objectives', sa.Column('frozen', sa.Boolean(), server_default='false', nullable=False), schema='progress')
    op.add_column('objectives', sa.Column('graded_progress', sa.Double(), nullable=True), schema='progress')
    op.add_column('objectives', sa.Column('grade_version', sa.Integer(), server_default='0', nullable=False), schema='progress')


def downgrade() -> None:
    op.drop_column('objectives', 'grade_version', schema='progress')
    op.drop_column('objectives', 'graded_progress', schema='progress')
    op.drop_column('objectives', 'frozen', schema='progress')
