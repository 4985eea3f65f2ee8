"""Rounds: notices that could not be sent are retried; provisional themes of leader-choice plans

``waiting_notified``: the leaders were told why the round waits (False: retry on the next run).
``themes_provisional``: the scheduler picked the rotating themes of a leader-choice plan and the
leader has not confirmed them yet. ``themes_notified``: the leaders were asked to choose.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_notified', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('themes_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('themes_notified', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Rounds already waiting before this revision had their notice sent (or dropped) back then.
    op.execute("UPDATE rounds SET waiting_notified = true WHERE waiting_reason IS NOT NULL")


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('themes_notified')
        batch_op.drop_column('themes_provisional')
        batch_op.drop_column('waiting_notified')
