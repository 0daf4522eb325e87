"""users: every change of a user is announced (NOTIFY okr_identity_users, the user's id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00

Each gateway keeps the users its requests need in memory and forgets one when this says it
changed: a role, department, deactivation or sign-out applies to the next request whichever
replica made it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION identity.announce_user_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('okr_identity_users', OLD.id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER users_announce_change AFTER UPDATE OR DELETE ON identity.users "
        "FOR EACH ROW EXECUTE FUNCTION identity.announce_user_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_announce_change ON identity.users")
    op.execute("DROP FUNCTION identity.announce_user_change()")
