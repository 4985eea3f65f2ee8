"""Writing an import's rows: one ``executemany`` per batch, and finding repeated case
references (in the database, or in a throw-away SQLite file where nothing is written).

The import inserts with ``ON CONFLICT DO NOTHING`` against the unique ``(snapshot_id,
case_ref)`` constraint and afterwards compares the snapshot's row count with the rows sent: a
shortfall means repeated references. Then, and wherever nothing is written (the dry run for the
preview, or an import that has already failed for other reasons), the ``(reference, row)`` pairs
go to a throw-away SQLite database on disk (:class:`DuplicateFinder`), whose ``GROUP BY ref
HAVING count(*) > 1`` reports every duplicate with its rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby, repeat
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tilsyn.cases.fields import CASE_DETAILS
from tilsyn.cases.importing.cpr import safe_value
from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.records import RecordBatch
from tilsyn.cases.models import Case

#: Columns the import writes, in insert order.
_CASE_COLUMNS = (
    "snapshot_id",
    "case_ref",
    "caseworker_id",
    "unit_id",
    "team_in_file",
    "scheme",
    "start_date",
    *CASE_DETAILS,
    "source_row",
)
_DATE_COLUMNS = frozenset({"start_date", "last_conversation", "reassessment_due"})
_PROCESSED_COLUMNS = _DATE_COLUMNS | {"job_goal", "cv_on_jobnet", "weekly_hours"}


class _BoundValues(dict[Any, Any]):
    """value -> what the column's bind processor makes of it, computed once per distinct value
    (dates, flags and hours repeat a lot); None stays None."""

    def __init__(self, processor: Any) -> None:
        super().__init__({None: None})
        self.processor = processor

    def __missing__(self, value: Any) -> Any:
        out = self.processor(value)
        if len(self) < 50_000:
            self[value] = out
        return out


class CaseInserter:
    """Batched insert of case rows: one DBAPI ``executemany`` per batch.

    The INSERT is compiled by SQLAlchemy for the session's dialect (so the SQL and parameter
    style are right for SQLite and PostgreSQL alike), and the columns' own bind processors are
    applied once per distinct value. Rows are assembled column-wise with ``zip`` from the
    parser's column batches, so no per-row Python code runs between the parser and the driver.
    """

    def __init__(self, session: Session, snapshot_id: int) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        table = Case.__table__
        statement = _dialect_insert(dialect.name, table).values(
            {name: bindparam(name) for name in _CASE_COLUMNS}
        )
        # A repeated case reference is skipped here and reported afterwards (see import_file).
        compiled = statement.on_conflict_do_nothing().compile(dialect=dialect)
        self.sql = compiled.string
        order = list(compiled.positiontup or ()) if compiled.positional else []
        if compiled.positional and order != list(_CASE_COLUMNS):
            raise RuntimeError("unexpected parameter order in the compiled INSERT")
        self.positional = compiled.positional
        self.snapshot_id = snapshot_id
        self.sent = 0
        processors = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _CASE_COLUMNS
        }
        others = sorted(
            name for name, proc in processors.items() if proc and name not in _PROCESSED_COLUMNS
        )
        if others:
            raise RuntimeError(f"unexpected bind processors for {others}")
        # Hours reach the driver as Python floats; a processor that keeps them as they are is
        # skipped. (Flags keep theirs: SQLite's makes True the int 1, which the driver binds
        # without its slower adaptation path for int subclasses.)
        self.bound = {
            name: _BoundValues(processors[name])
            for name in _PROCESSED_COLUMNS
            if processors[name] is not None
            and not (name == "weekly_hours" and processors[name](2.5) == 2.5)
        }
        if "job_goal" in self.bound:
            self.bound["cv_on_jobnet"] = self.bound["job_goal"]
        for name in _DATE_COLUMNS - {"start_date"}:
            if "start_date" in self.bound:
                self.bound[name] = self.bound["start_date"]

    def _values(self, batch: RecordBatch, name: str) -> Iterable[Any]:
        values = batch.column(name)
        bound = self.bound.get(name)
        return values if bound is None else map(bound.__getitem__, values)

    def insert_batch(
        self, batch: RecordBatch, caseworker_ids: Sequence[int], unit_ids: Sequence[int]
    ) -> None:
        """Insert the batch: its columns are zipped straight into the driver's executemany
        (no list of row tuples is built; ``zip`` hands over one reused tuple at a time)."""
        column = batch.column
        rows: Iterator[tuple[Any, ...]] = zip(
            repeat(self.snapshot_id, len(batch)),
            column("case_ref"),
            caseworker_ids,
            unit_ids,
            column("team"),
            column("scheme"),
            self._values(batch, "start_date"),
            *(self._values(batch, name) for name in CASE_DETAILS),
            batch.rows,
            strict=True,
        )
        parameters: Iterator[Any] = (
            rows
            if self.positional
            else (dict(zip(_CASE_COLUMNS, row, strict=True)) for row in rows)
        )
        # The raw DBAPI cursor of the session's own connection, inside its transaction.
        cursor = self.connection.connection.cursor()
        try:
            cursor.executemany(self.sql, parameters)  # type: ignore[arg-type]
        finally:
            cursor.close()
        self.sent += len(batch)


class DuplicateFinder:
    """Finds duplicate case references among any number of rows with flat memory.

    The ``(case reference, row)`` pairs go to a private, temporary SQLite database on disk
    (removed when closed; SQLite keeps only a small page cache in memory), which then groups
    them. Used where nothing is written to the real database: the dry run, and imports that
    have already failed for other reasons.
    """

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)  # "": temporary on-disk database
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-4096")  # KiB
        self.db.execute("CREATE TABLE refs (ref TEXT NOT NULL, row INTEGER NOT NULL)")
        self.db.execute("BEGIN")

    def add(self, pairs: Iterable[tuple[str, int]]) -> None:
        self.db.executemany("INSERT INTO refs (ref, row) VALUES (?, ?)", pairs)

    def duplicates(self) -> Iterator[tuple[str, int]]:
        """``(reference, row)`` of every row whose reference occurs more than once, by
        reference and row."""
        yield from self.db.execute(
            "SELECT ref, row FROM refs WHERE ref IN "
            "(SELECT ref FROM refs GROUP BY ref HAVING count(*) > 1) ORDER BY ref, row"
        )

    def close(self) -> None:
        self.db.close()


def duplicate_errors(pairs: Iterable[tuple[str, int]], column: str | None) -> Iterator[RowError]:
    """One error for every row that repeats an earlier row's case reference.

    ``pairs`` are ``(reference, row)`` sorted by reference, then row.
    """
    for ref, group in groupby(pairs, key=lambda pair: pair[0]):
        rows = [row for _, row in group]
        value = safe_value(ref)
        for row in rows[1:]:
            yield RowError(row, column, "duplicate", {"row": rows[0]}, value)


def _dialect_insert(dialect_name: str, table: Any) -> Any:
    """INSERT with ``on_conflict_do_nothing`` (same SQL on SQLite and PostgreSQL)."""
    return pg_insert(table) if dialect_name == "postgresql" else sqlite_insert(table)


def stored_count(session: Session, snapshot_id: int) -> int:
    stored = select(func.count()).select_from(Case).where(Case.snapshot_id == snapshot_id)
    return int(session.scalar(stored) or 0)
