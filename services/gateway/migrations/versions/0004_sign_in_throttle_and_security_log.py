"""sign-in throttle and security log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:31:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('account', 'address')", name='ck_sign_in_failures_kind'),
    sa.PrimaryKeyConstraint('kind', 'key'),
    schema='identity'
    )
    op.create_index('ix_sign_in_failures_last_failed_at', 'sign_in_failures', ['last_failed_at'], unique=False, schema='identity')
    op.create_table('security_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('username', sa.String(length=50), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('api_key_id', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='identity'
    )
    op.create_index('ix_security_events_actor_id', 'security_events', ['actor_id'], unique=False, schema='identity')
    op.create_index('ix_security_events_kind_id', 'security_events', ['kind', 'id'], unique=False, schema='identity')
    op.create_index('ix_security_events_user_id', 'security_events', ['user_id'], unique=False, schema='identity')


def downgrade() -> None:
    op.drop_index('ix_security_events_user_id', table_name='security_events', schema='identity')
    op.drop_index('ix_security_events_kind_id', table_name='security_events', schema='identity')
    op.drop_index('ix_security_events_actor_id', table_name='security_events', schema='identity')
    op.drop_table('security_events', schema='identity')
    op.drop_index('ix_sign_in_failures_last_failed_at', table_name='sign_in_failures', schema='identity')
    op.drop_table('sign_in_failures', schema='identity')
