"""languages: staff dashboard language, task and broadcast texts per language

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), server_default='en', nullable=False))
        batch_op.create_check_constraint('ck_staff_language', "language IN ('en', 'fr', 'ar')")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texts', sa.JSON(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_column('texts')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('translations')
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_constraint('ck_staff_language', type_='check')
        batch_op.drop_column('language')
