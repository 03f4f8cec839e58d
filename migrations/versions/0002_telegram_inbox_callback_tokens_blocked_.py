"""telegram inbox, callback tokens, blocked citizens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 23:17:41.857525
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_tokens',
    sa.Column('token', sa.String(length=24), nullable=False),
    sa.Column('keyboard', sa.String(length=24), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token')
    )
    with op.batch_alter_table('callback_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_tokens_keyboard'), ['keyboard'], unique=False)

    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_key', sa.String(length=80), nullable=False),
    sa.Column('sender_id', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meta', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('group_key', sa.String(length=80), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_before', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('held', 'pending', 'done', 'merged', 'failed')", name='ck_inbox_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('update_key')
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_chat_status', ['chat_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_group_key'), ['group_key'], unique=False)

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint('uq_feedback_idempotency_key', ['idempotency_key'])



def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint('uq_feedback_idempotency_key', type_='unique')
        batch_op.drop_column('idempotency_key')

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_column('blocked_at')

    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_group_key'))
        batch_op.drop_index('ix_inbox_chat_status')

    op.drop_table('inbox')
    with op.batch_alter_table('callback_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_tokens_keyboard'))

    op.drop_table('callback_tokens')
