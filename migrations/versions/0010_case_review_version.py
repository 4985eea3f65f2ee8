"""Reviews carry a version: a save from a stale form is refused (lost-update protection)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('case_reviews', schema=None) as batch_op:
        batch_op.drop_column('version')
