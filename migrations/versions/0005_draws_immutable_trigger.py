"""Recorded draws immutable in the database: on PostgreSQL triggers refuse UPDATE and DELETE on
draws and draw_items (SQLite keeps the ORM guard only). Same SQL as tilsyn.sampling.models.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION draws_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'En registreret stikprøve kan ikke ændres eller slettes ('
            || TG_OP || ' på ' || TG_TABLE_NAME || ' afvist).',
        ERRCODE = 'insufficient_privilege';
END;
$$
"""
TRIGGER = """
CREATE TRIGGER {table}_immutable
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION draws_refuse_change()
"""
TABLES = ('draws', 'draw_items')


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    for table in TABLES:
        op.execute(TRIGGER.format(table=table))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f'DROP TRIGGER IF EXISTS {table}_immutable ON {table}')
    op.execute('DROP FUNCTION IF EXISTS draws_refuse_change()')
