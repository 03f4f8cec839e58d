"""inbox: a flooding chat's excess kept as `skipped`, messages claimed by one bridge while
`handling`; one rating per citizen and session; leases (one process sends reminders and
broadcasts)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INBOX_STATUSES = ('held', 'pending', 'done', 'merged', 'failed')


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=120), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint('ck_inbox_status', type_='check')
        batch_op.create_check_constraint('ck_inbox_status', _in(INBOX_STATUSES + ('skipped', 'handling')))
    # Earlier ratings of a session by the same citizen: the latest one counts.
    op.execute(
        "DELETE FROM feedback WHERE citizen_id IS NOT NULL AND occurrence_id IS NOT NULL AND id NOT IN ("
        " SELECT MAX(id) FROM feedback WHERE citizen_id IS NOT NULL AND occurrence_id IS NOT NULL"
        " GROUP BY citizen_id, occurrence_id)"
    )
    op.create_index(
        'uq_feedback_citizen_occurrence', 'feedback', ['citizen_id', 'occurrence_id'], unique=True,
        sqlite_where=sa.text('citizen_id IS NOT NULL AND occurrence_id IS NOT NULL'),
        postgresql_where=sa.text('citizen_id IS NOT NULL AND occurrence_id IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_table('leases')
    op.drop_index('uq_feedback_citizen_occurrence', table_name='feedback')
    op.execute("UPDATE inbox SET status = 'failed' WHERE status = 'skipped'")
    op.execute("UPDATE inbox SET status = 'pending' WHERE status = 'handling'")
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_constraint('ck_inbox_status', type_='check')
        batch_op.create_check_constraint('ck_inbox_status', _in(INBOX_STATUSES))
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
