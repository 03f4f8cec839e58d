"""channels: each citizen's channel and address, web chat visitors and their messages

Existing citizens came through Telegram (a numeric chat id) or through Rasa's
REST channel (`make chat`, anything else), which cannot be written to later.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

NOTIFICATION_STATUSES = ('pending', 'sending', 'sent', 'skipped', 'expired', 'unknown', 'failed')
DELIVERY_STATUSES = ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped', 'unknown')


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='telegram', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.create_check_constraint('ck_citizen_channel', "channel IN ('telegram', 'web', 'terminal')")
    citizens = sa.table('citizens', sa.column('sender_id', sa.String), sa.column('channel', sa.String), sa.column('address', sa.String))
    rows = op.get_bind().execute(sa.select(citizens.c.sender_id)).scalars().all()
    for sender_id in rows:
        telegram = sender_id.lstrip('-').isdigit()
        op.get_bind().execute(
            citizens.update().where(citizens.c.sender_id == sender_id).values(
                channel='telegram' if telegram else 'terminal', address=sender_id if telegram else None,
            )
        )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='telegram', nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='telegram', nullable=False))
        batch_op.alter_column('status', type_=sa.String(length=12), existing_type=sa.String(length=10),
                              existing_nullable=False, existing_server_default='pending')
        batch_op.drop_constraint('ck_delivery_status', type_='check')
        batch_op.create_check_constraint('ck_delivery_status', _in(DELIVERY_STATUSES + ('unreachable',)))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('status', type_=sa.String(length=12), existing_type=sa.String(length=10),
                              existing_nullable=False, existing_server_default='pending')
        batch_op.drop_constraint('ck_notification_status', type_='check')
        batch_op.create_check_constraint('ck_notification_status', _in(NOTIFICATION_STATUSES + ('unreachable',)))
    op.create_table(
        'web_visitors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('sender_id', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=True),
        sa.Column('push_subscription', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('secret_hash'),
        sa.UniqueConstraint('sender_id'),
    )
    op.create_table(
        'web_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visitor_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=8), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('bot', 'citizen')", name='ck_web_message_role'),
        sa.ForeignKeyConstraint(['visitor_id'], ['web_visitors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_web_message_visitor', 'web_messages', ['visitor_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_message_visitor', table_name='web_messages')
    op.drop_table('web_messages')
    op.drop_table('web_visitors')
    for table in ('notifications', 'deliveries'):
        op.execute(f"UPDATE {table} SET status = 'failed' WHERE status = 'unreachable'")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notification_status', type_='check')
        batch_op.create_check_constraint('ck_notification_status', _in(NOTIFICATION_STATUSES))
        batch_op.alter_column('status', type_=sa.String(length=10), existing_type=sa.String(length=12),
                              existing_nullable=False, existing_server_default='pending')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('ck_delivery_status', type_='check')
        batch_op.create_check_constraint('ck_delivery_status', _in(DELIVERY_STATUSES))
        batch_op.alter_column('status', type_=sa.String(length=10), existing_type=sa.String(length=12),
                              existing_nullable=False, existing_server_default='pending')
        batch_op.drop_column('channel')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_constraint('ck_citizen_channel', type_='check')
        batch_op.drop_column('address')
        batch_op.drop_column('channel')
