"""Audit log append-only in the database: on PostgreSQL a trigger refuses UPDATE and DELETE
on audit_events (SQLite keeps the ORM guard only). Same SQL as tilsyn.audit.models.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'Revisionsloggen kan ikke ændres eller slettes (' || TG_OP || ' afvist).',
        ERRCODE = 'insufficient_privilege';
END;
$$
"""
TRIGGER = """
CREATE TRIGGER audit_events_append_only
BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()
"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
    op.execute('DROP FUNCTION IF EXISTS audit_events_refuse_change()')
