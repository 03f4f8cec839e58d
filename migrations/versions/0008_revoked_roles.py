"""revoked roles are remembered, so COORDINATOR_IDS does not grant them again

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM roles WHERE revoked_at IS NOT NULL")
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
