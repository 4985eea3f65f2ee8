"""Small helpers shared by model modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import DDL, Table, event

K = TypeVar("K")
C = TypeVar("C")


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (stored naive-UTC in SQLite, aware in PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def sync_children(
    children: list[C], keys: Iterable[K], key_of: Callable[[C], K], make: Callable[[K], C]
) -> dict[K, C]:
    """Make a one-to-many collection hold one child per key, in place.

    Children whose key is not in ``keys`` are removed, a missing one is made with ``make`` and
    appended; returns the child per key (in the order of ``keys``).
    """
    wanted = list(keys)
    existing = {key_of(c): c for c in children}
    for key, stale in existing.items():
        if key not in wanted:
            children.remove(stale)
    out: dict[K, C] = {}
    for key in wanted:
        child = existing.get(key)
        if child is None:
            child = make(key)
            children.append(child)
        out[key] = child
    return out


#: PostgreSQL: a trigger function that raises ``message`` (an SQL string expression; no percent
#: signs, so the text passes SQLAlchemy's DDL formatting unchanged) ...
REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = {message},
        ERRCODE = 'insufficient_privilege';
END;
$$
"""
#: ... and the row trigger that calls it before every ``UPDATE`` or ``DELETE`` on a table.
REFUSE_CHANGE_TRIGGER = """
CREATE TRIGGER {trigger}
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION {function}()
"""


def refuse_changes_on_postgresql(
    tables: Sequence[Table], *, function: str, message: str, trigger_suffix: str
) -> None:
    """On PostgreSQL, make the database itself refuse ``UPDATE`` and ``DELETE`` on ``tables``.

    For ``create_all`` (tests): after the first table is created, the trigger function
    ``function`` (raising the SQL expression ``message``) is created, and after each table its
    trigger ``<table>_<trigger_suffix>``. Migrations create the same objects with their own copy
    of the text. Other databases get nothing (the ORM guards there).
    """
    statements = [(tables[0], REFUSE_CHANGE_FUNCTION.format(function=function, message=message))]
    for table in tables:
        trigger = f"{table.name}_{trigger_suffix}"
        statement = REFUSE_CHANGE_TRIGGER.format(
            trigger=trigger, table=table.name, function=function
        )
        statements.append((table, statement))
    for table, statement in statements:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
