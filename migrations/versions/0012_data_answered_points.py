"""Data-answered control points: a data rule on the control point, the prefilled option and
the override reason on review answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('control_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_rule', sa.JSON(), nullable=True))

    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefill_option_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('override_reason', sa.Text(), nullable=False, server_default='')
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_review_answers_prefill_option_id_scale_options'),
            'scale_options',
            ['prefill_option_id'],
            ['id'],
        )


def downgrade():
    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_review_answers_prefill_option_id_scale_options'), type_='foreignkey'
        )
        batch_op.drop_column('override_reason')
        batch_op.drop_column('prefill_option_id')

    with op.batch_alter_table('control_points', schema=None) as batch_op:
        batch_op.drop_column('data_rule')
