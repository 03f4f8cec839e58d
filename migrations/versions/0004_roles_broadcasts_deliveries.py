"""roles, broadcasts, deliveries, coordinator drafts, linked groups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:30:45.150896
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coordinator_drafts',
    sa.Column('telegram_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=30), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('telegram_id')
    )
    op.create_table('roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=True),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('coordinator')", name='ck_role_role'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('telegram_id', 'role', name='uq_role_telegram_id_role')
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('audience_value', sa.String(length=80), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo', sa.String(length=200), nullable=True),
    sa.Column('signup_task_id', sa.Integer(), nullable=True),
    sa.Column('hold_quiet_hours', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='sending', nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('progress_chat_id', sa.String(length=64), nullable=True),
    sa.Column('progress_message_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("audience IN ('all', 'neighbourhood', 'category', 'task', 'group')", name='ck_broadcast_audience'),
    sa.CheckConstraint("status IN ('sending', 'done', 'cancelled')", name='ck_broadcast_status'),
    sa.ForeignKeyConstraint(['signup_task_id'], ['tasks.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_before', sa.DateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=32), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped', 'unknown')", name='ck_delivery_status'),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('broadcast_id', 'chat_id', name='uq_delivery_broadcast_chat')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_status_due', ['status', 'not_before'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_chat_id', sa.String(length=64), nullable=True))
        batch_op.alter_column('citizen_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_check_constraint(
            'ck_notification_target', '(citizen_id IS NULL) <> (group_chat_id IS NULL)'
        )

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('group_chat_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_group_chat_id'), ['group_chat_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_group_chat_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_created_by'))
        batch_op.drop_column('group_chat_id')
        batch_op.drop_column('created_by')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notification_target', type_='check')
        batch_op.alter_column('citizen_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('group_chat_id')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_status_due')

    op.drop_table('deliveries')
    op.drop_table('broadcasts')
    op.drop_table('roles')
    op.drop_table('coordinator_drafts')
