"""Draw items record the case's unit at draw time (results per unit as recorded with the draw)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 16:00:00

Existing items get the unit of their case row in the drawn snapshot, else the caseworker's
unit (what the draw itself used). Draw items are immutable: on PostgreSQL the refusing trigger
is switched off for this one backfill and on again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE draw_items SET unit_id = COALESCE(
    (SELECT cases.unit_id FROM cases WHERE cases.id = draw_items.case_id),
    (SELECT caseworkers.unit_id FROM caseworkers WHERE caseworkers.id = draw_items.caseworker_id)
)
"""


def upgrade():
    with op.batch_alter_table('draw_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_draw_items_unit_id_units'), 'units', ['unit_id'], ['id']
        )
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE draw_items DISABLE TRIGGER draw_items_immutable')
    op.execute(BACKFILL)
    if postgres:
        op.execute('ALTER TABLE draw_items ENABLE TRIGGER draw_items_immutable')


def downgrade():
    with op.batch_alter_table('draw_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_draw_items_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('unit_id')
