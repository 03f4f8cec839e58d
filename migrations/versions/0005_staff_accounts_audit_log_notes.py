"""staff accounts, audit log, notes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:02:41.734671
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

KINDS = ("reminder", "feedback_prompt", "report_resolved", "report_followup", "group_progress", "status_update")


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=30), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_subject', ['subject_type', 'subject_id', 'id'], unique=False)

    op.create_table('staff_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('staff', 'coordinator', 'admin')", name='ck_staff_role'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('contribution_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contribution_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_notes_contribution_id'), ['contribution_id'], unique=False)

    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('original_description', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_contribution_duplicate_of', 'contributions', ['duplicate_of'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notification_kind', type_='check')
        batch_op.create_check_constraint('ck_notification_kind', "kind IN (%s)" % ", ".join(repr(k) for k in KINDS))



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notification_kind', type_='check')
        batch_op.create_check_constraint('ck_notification_kind', "kind IN (%s)" % ", ".join(repr(k) for k in KINDS[:-1]))

    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_contribution_duplicate_of', type_='foreignkey')
        batch_op.drop_column('original_description')
        batch_op.drop_column('duplicate_of')

    with op.batch_alter_table('contribution_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_notes_contribution_id'))

    op.drop_table('contribution_notes')
    op.drop_table('staff_accounts')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_subject')

    op.drop_table('audit_log')
