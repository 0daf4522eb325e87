"""api keys, their write counts, and token generations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'users',
        sa.Column('token_generation', sa.Integer(), server_default='0', nullable=False),
        schema='identity',
    )
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['identity.users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prefix'),
    schema='identity'
    )
    op.create_index(op.f('ix_identity_api_keys_user_id'), 'api_keys', ['user_id'], unique=False, schema='identity')
    op.create_table('api_key_write_counts',
    sa.Column('key_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'window_start'),
    schema='identity'
    )


def downgrade() -> None:
    op.drop_table('api_key_write_counts', schema='identity')
    op.drop_index(op.f('ix_identity_api_keys_user_id'), table_name='api_keys', schema='identity')
    op.drop_table('api_keys', schema='identity')
    op.drop_column('users', 'token_generation', schema='identity')
