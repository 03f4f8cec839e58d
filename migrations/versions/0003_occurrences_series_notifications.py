"""occurrences, series sign-ups, notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:45:50.279212
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('taken', sa.Integer(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='scheduled', nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name='ck_occurrence_status'),
    sa.CheckConstraint('ends_at > starts_at', name='ck_occurrence_times'),
    sa.CheckConstraint('taken >= 0 AND (capacity IS NULL OR taken <= capacity)', name='ck_occurrence_taken'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id', 'starts_at', name='uq_occurrence_task_start')
    )
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_occurrences_starts_at'), ['starts_at'], unique=False)

    op.create_table('series_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'cancelled')", name='ck_series_signup_status'),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('series_signups', schema=None) as batch_op:
        batch_op.create_index('uq_series_signup_active', ['task_id', 'citizen_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('occurrence_id', sa.Integer(), nullable=True),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=32), nullable=True),
    sa.Column('answer', sa.String(length=20), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('reminder', 'feedback_prompt', 'report_resolved', 'report_followup', 'group_progress')", name='ck_notification_kind'),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'skipped', 'expired', 'unknown', 'failed')", name='ck_notification_status'),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notification_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_citizen_id'), ['citizen_id'], unique=False)

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_notes', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reopened_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('public_note', sa.Text(), nullable=True))

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurrence_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_feedback_occurrence', 'occurrences', ['occurrence_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurrence_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('occurrence_key', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('attendance', sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            'ck_signup_attendance', "attendance IS NULL OR attendance IN ('confirmed', 'attended', 'absent')"
        )
        batch_op.drop_index(batch_op.f('uq_signup_active'), sqlite_where=sa.text("status = 'active'"))
        batch_op.create_index('uq_signup_active', ['task_id', 'citizen_id', 'occurrence_key'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_foreign_key('fk_signup_occurrence', 'occurrences', ['occurrence_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_signup_occurrence_citizen', ['occurrence_id', 'citizen_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recurrence', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('reminder_offsets', sa.String(length=60), server_default='1440,60', nullable=False))
        batch_op.add_column(sa.Column('feedback_delay_minutes', sa.Integer(), server_default='60', nullable=False))
        batch_op.create_check_constraint('ck_task_feedback_delay', 'feedback_delay_minutes >= 0')

    _one_occurrence_per_scheduled_task()

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('ck_task_taken', type_='check')
        batch_op.drop_column('taken')


def _one_occurrence_per_scheduled_task() -> None:
    """Existing scheduled tasks become one occurrence each, keeping their sign-ups."""
    op.execute(
        "INSERT INTO occurrences (task_id, starts_at, ends_at, capacity, taken, status) "
        "SELECT id, starts_at, ends_at, capacity, taken, 'scheduled' "
        "FROM tasks WHERE starts_at IS NOT NULL AND ends_at IS NOT NULL"
    )
    op.execute(
        "UPDATE signups SET occurrence_id = "
        "(SELECT o.id FROM occurrences o WHERE o.task_id = signups.task_id), "
        "occurrence_key = COALESCE((SELECT o.id FROM occurrences o WHERE o.task_id = signups.task_id), 0)"
    )



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken', sa.INTEGER(), server_default=sa.text("'0'"), nullable=False))
        batch_op.drop_constraint('ck_task_feedback_delay', type_='check')
        batch_op.drop_column('feedback_delay_minutes')
        batch_op.drop_column('reminder_offsets')
        batch_op.drop_column('recurrence')

    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_index('ix_signup_occurrence_citizen')
        batch_op.drop_constraint('fk_signup_occurrence', type_='foreignkey')
        batch_op.drop_index('uq_signup_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_index(batch_op.f('uq_signup_active'), ['task_id', 'citizen_id'], unique=1, sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_constraint('ck_signup_attendance', type_='check')
        batch_op.drop_column('attendance')
        batch_op.drop_column('occurrence_key')
        batch_op.drop_column('occurrence_id')

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint('fk_feedback_occurrence', type_='foreignkey')
        batch_op.drop_column('occurrence_id')

    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_column('public_note')
        batch_op.drop_column('reopened_at')
        batch_op.drop_column('resolved_at')

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_column('progress_notes')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_citizen_id'))
        batch_op.drop_index('ix_notification_due')

    op.drop_table('notifications')
    with op.batch_alter_table('series_signups', schema=None) as batch_op:
        batch_op.drop_index('uq_series_signup_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.drop_table('series_signups')
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_occurrences_starts_at'))

    op.drop_table('occurrences')
