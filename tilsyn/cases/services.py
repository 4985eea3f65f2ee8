"""Importing case-system exports as immutable population snapshots, and reading them back.

The import is one streaming pass over the file: the parser yields validated rows in column
batches, the service resolves each row's caseworker (one dictionary lookup per distinct
initials) and inserts the batch with one ``executemany``. All of it happens inside the caller's
transaction. When anything is wrong (a parse error, an unknown caseworker, a duplicate case
reference, a CPR number) the service keeps reading to report *every* error, stops writing, and
returns a refused :class:`ImportResult`; the caller rolls back, so nothing is half-written, and
may then record the refusal with :func:`record_refused_import`.

Memory stays flat with file size: one batch of rows, bounded caches and the caseworker lookup
are all that is held. Duplicate case references are found in a database, not in a dictionary.
The import inserts with ``ON CONFLICT DO NOTHING`` against the unique ``(snapshot_id,
case_ref)`` constraint and afterwards compares the snapshot's row count with the rows sent: a
shortfall means repeated references. Then, and wherever nothing is written (the dry run for the
preview, or an import that has already failed for other reasons), the ``(reference, row)``
pairs go to a throw-away SQLite database on disk (:class:`_DuplicateFinder`), whose ``GROUP BY
ref HAVING count(*) > 1`` reports every duplicate with its rows. Each case keeps its file row
(``cases.source_row``) for traceability.
"""

from __future__ import annotations

import csv
import errno
import gc
import hashlib
import io
import json
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import groupby, repeat
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases import mapping as mappings
from tilsyn.cases import messages, parsing
from tilsyn.cases.models import Case, Snapshot
from tilsyn.errors import ServiceError
from tilsyn.org import services as org
from tilsyn.org.models import Caseworker, Unit
from tilsyn.schemes import scheme_label

#: Unit for caseworkers created from a file without a team column.
UNKNOWN_UNIT_NAME = "Ukendt enhed"
BATCH_SIZE = parsing.DEFAULT_BATCH_SIZE
PREVIEW_ROWS = 10
#: Errors kept per import (each is small); more are counted and summarised in one line.
MAX_ERRORS = parsing.DEFAULT_MAX_ERRORS
#: Column lengths for what the service itself writes (the parser checks the record fields).
MAX_TEAM = 120
MAX_CASEWORKER_NAME = 200
MAX_FILENAME = 255

MSG_MORE_ERRORS = parsing.MSG_MORE_ERRORS
MSG_NO_CASES = messages.MSG_NO_CASES
MSG_CHANGED = messages.MSG_CHANGED

#: How the user asked unknown caseworkers to be placed: initials -> existing unit id, or the
#: name of a unit (created if missing).
UnitChoice = int | str


class ImportSetupError(ServiceError):
    """A user-facing refusal (UI language) that is not tied to a row (e.g. an unknown mapping)."""


@dataclass(frozen=True)
class UnknownCaseworker:
    """Initials in the file with no caseworker in tilsyn."""

    initials: str
    name: str
    team: str | None  # the team named in the file (first row seen)
    first_row: int
    cases: int


@dataclass(frozen=True)
class EarlierSnapshot:
    """A stored snapshot made from a file with the same SHA-256."""

    id: int
    imported_at: datetime


@dataclass
class ImportResult:
    """Outcome of :func:`analyse_file` (dry run) or :func:`import_file`.

    ``rows`` counts valid rows, ``rows_in_file`` every non-blank data row. ``errors`` holds at
    most :data:`MAX_ERRORS` errors, sorted by row; ``errors_omitted`` counts the rest.
    """

    filename: str
    sha256: str
    mapping_name: str
    file_kind: str = ""
    encoding: str | None = None
    errors: list[parsing.RowError] = field(default_factory=list)
    errors_omitted: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    rows_in_file: int = 0
    preview: list[parsing.CaseRecord] = field(default_factory=list)
    unknown_caseworkers: list[UnknownCaseworker] = field(default_factory=list)
    file_teams: list[str] = field(default_factory=list)
    has_team_column: bool = False
    cpr_found: bool = False
    same_file: list[EarlierSnapshot] = field(default_factory=list)
    snapshot: Snapshot | None = None
    caseworkers: int = 0
    teams: int = 0
    created_caseworkers: list[str] = field(default_factory=list)
    created_units: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.errors_omitted

    @property
    def error_count(self) -> int:
        """Every error found, shown or not."""
        return len(self.errors) + self.errors_omitted

    def add_error(self, error: parsing.RowError) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.errors_omitted += 1
        else:
            self.errors.append(error)

    def error_dicts(self) -> list[dict[str, Any]]:
        """Every error for machine output: row (header = 1; 0 for the whole file), column,
        reason; plus one summary line if more than :data:`MAX_ERRORS` were found."""
        out: list[dict[str, Any]] = [
            {"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors
        ]
        if self.errors_omitted:
            reason = MSG_MORE_ERRORS.format(n=self.errors_omitted)
            out.append({"row": 0, "column": None, "reason": reason})
        return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def clean_filename(name: str | None) -> str:
    """The base name of an uploaded file, without directories, control characters or anything
    that looks like a CPR number (replaced by ``[cpr fjernet]``)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    base = parsing.scrub_cpr(base)
    return (base or "ukendt-fil")[:MAX_FILENAME]


def load_mapping(name: str | None, directory: str | Path | None) -> mappings.ColumnMapping:
    """The named column mapping (default: the standard one), or :class:`ImportSetupError`."""
    wanted = name or mappings.DEFAULT_MAPPING
    try:
        return mappings.load_mapping(wanted, directory)
    except (OSError, ValueError, KeyError) as exc:
        raise ImportSetupError(
            _("Kolonneopsætningen «%(name)s» findes ikke eller er ugyldig.", name=wanted)
        ) from exc


def mapping_choices(directory: str | Path | None) -> list[tuple[str, str]]:
    """(name, label) of every available mapping, the default first."""
    try:
        found = mappings.available_mappings(directory)
    except mappings.MappingError:
        # One broken file must not hide the others: load them one by one.
        found = []
        for path in sorted(Path(directory or mappings.DEFAULT_DIRECTORY).glob("*.toml")):
            try:
                found.append(mappings.load_mapping(path.stem, directory))
            except mappings.MappingError:
                continue
    out = [(m.name, m.label) for m in found]
    out.sort(key=lambda pair: (pair[0] != mappings.DEFAULT_MAPPING, pair[1].lower()))
    return out


def earlier_snapshots(session: Session, sha256: str) -> list[EarlierSnapshot]:
    """Stored snapshots made from a file with this SHA-256, oldest first."""
    return [
        EarlierSnapshot(sid, at)
        for sid, at in session.execute(
            select(Snapshot.id, Snapshot.imported_at)
            .where(Snapshot.sha256 == sha256)
            .order_by(Snapshot.id)
        )
    ]


class _Resolver:
    """Caseworker and unit lookup for one import, creating caseworkers when asked to."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        *,
        choices: Mapping[str, UnitChoice] | None,
        create_in_file_team: bool,
        dry_run: bool,
    ) -> None:
        self.session = session
        self.actor = actor
        self.choices = {k.strip().upper(): v for k, v in (choices or {}).items()}
        self.create_in_file_team = create_in_file_team
        self.dry_run = dry_run
        self.known: dict[str, tuple[int, int]] = {
            initials: (cw_id, unit_id)
            for cw_id, initials, unit_id in session.execute(
                select(Caseworker.id, Caseworker.initials, Caseworker.unit_id)
            )
        }
        self.units: dict[str, Unit] = {u.name.lower(): u for u in session.scalars(select(Unit))}
        self.unknown: dict[str, UnknownCaseworker] = {}
        self.created_caseworkers: list[str] = []
        self.created_units: list[str] = []

    def resolve(
        self, initials: str, name: str | None, team: str | None, row: int
    ) -> tuple[int, int] | None:
        """(caseworker id, unit id), or None if the caseworker is unknown and not to be made."""
        found = self.known.get(initials)
        if found is not None:
            return found
        seen = self.unknown.get(initials)
        if seen is not None:
            self.unknown[initials] = UnknownCaseworker(
                seen.initials, seen.name, seen.team, seen.first_row, seen.cases + 1
            )
            return None
        choice = self._choice_for(initials, team)
        if self.dry_run or choice is None:
            self.unknown[initials] = UnknownCaseworker(initials, name or "", team, row, 1)
            return None
        unit = self._unit(choice)
        caseworker = org.save_caseworker(
            self.session,
            self.actor,
            initials,
            (name or initials)[:MAX_CASEWORKER_NAME],
            unit,
            None,
        )
        self.created_caseworkers.append(initials)
        self.known[initials] = (caseworker.id, unit.id)
        return self.known[initials]

    def resolve_batch(self, batch: parsing.RecordBatch) -> list[tuple[int, int] | None]:
        """(caseworker id, unit id) or None for every row of the batch."""
        initials = batch.column("caseworker")
        resolved = list(map(self.known.get, initials))
        if None in resolved:
            names, teams = batch.column("caseworker_name"), batch.column("team")
            for index, found in enumerate(resolved):
                if found is None:
                    resolved[index] = self.resolve(
                        initials[index], names[index], teams[index], batch.rows[index]
                    )
        return resolved

    def _choice_for(self, initials: str, team: str | None) -> UnitChoice | None:
        if initials in self.choices:
            return self.choices[initials]
        if self.create_in_file_team:
            return team or UNKNOWN_UNIT_NAME
        return None

    def _unit(self, choice: UnitChoice) -> Unit:
        if isinstance(choice, int):
            unit = self.session.get(Unit, choice)
            if unit is None:
                raise ImportSetupError("Den valgte enhed findes ikke længere.")
            return unit
        name = " ".join(choice.split())[:MAX_TEAM] or UNKNOWN_UNIT_NAME
        unit = self.units.get(name.lower())
        if unit is None:
            unit = org.save_unit(self.session, self.actor, name)
            self.units[name.lower()] = unit
            self.created_units.append(name)
        return unit

    def unit_exists(self, name: str) -> bool:
        return name.lower() in self.units


def _column_label(mapping: mappings.ColumnMapping, field_name: str) -> str:
    """The file's column name for a field, as the mapping names it."""
    return mapping.header_for(field_name)


#: Columns the import writes, in insert order.
_CASE_COLUMNS = (
    "snapshot_id",
    "case_ref",
    "caseworker_id",
    "unit_id",
    "team_in_file",
    "scheme",
    "start_date",
    "last_conversation",
    "conversations_12m",
    "reassessment_due",
    "caseworker_changes_12m",
    "job_goal",
    "cv_on_jobnet",
    "weekly_hours",
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


class _CaseInserter:
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

    def _values(self, batch: parsing.RecordBatch, name: str) -> Iterable[Any]:
        values = batch.column(name)
        bound = self.bound.get(name)
        return values if bound is None else map(bound.__getitem__, values)

    def insert_batch(
        self, batch: parsing.RecordBatch, caseworker_ids: Sequence[int], unit_ids: Sequence[int]
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
            self._values(batch, "last_conversation"),
            column("conversations_12m"),
            self._values(batch, "reassessment_due"),
            column("caseworker_changes_12m"),
            self._values(batch, "job_goal"),
            self._values(batch, "cv_on_jobnet"),
            self._values(batch, "weekly_hours"),
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


class _DuplicateFinder:
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


def _duplicate_errors(
    pairs: Iterable[tuple[str, int]], column: str | None
) -> Iterator[parsing.RowError]:
    """One error for every row that repeats an earlier row's case reference.

    ``pairs`` are ``(reference, row)`` sorted by reference, then row.
    """
    for ref, group in groupby(pairs, key=lambda pair: pair[0]):
        rows = [row for _, row in group]
        reason = parsing.MSG_DUPLICATE.format(row=rows[0])
        value = parsing._safe_value(ref)
        for row in rows[1:]:
            yield parsing.RowError(row, column, reason, value)


def _dialect_insert(dialect_name: str, table: Any) -> Any:
    """INSERT with ``on_conflict_do_nothing`` (same SQL on SQLite and PostgreSQL)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _stored_count(session: Session, snapshot_id: int) -> int:
    stored = select(func.count()).select_from(Case).where(Case.snapshot_id == snapshot_id)
    return int(session.scalar(stored) or 0)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is scanned.

    A scan allocates millions of short-lived, acyclic objects (cells, rows, tuples), which
    reference counting frees at once; each of them would also count towards the collector's
    thresholds, so it would re-scan the whole application's heap many times for nothing (about a
    fifth of the import's time). Memory stays flat: nothing cyclic is made per row. The
    collector is switched back on afterwards (only if it was on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan(
    path: Path,
    mapping: mappings.ColumnMapping,
    result: ImportResult,
    resolver: _Resolver,
    *,
    inserter: _CaseInserter | None,
    finder: _DuplicateFinder | None,
    batch_size: int,
    max_field_chars: int,
) -> parsing.ParseReport:
    """One pass over the file: collect errors, and insert batches while none have been seen."""
    report = parsing.ParseReport()
    teams: set[str | None] = set()
    caseworkers: set[int] = set()
    units: set[int] = set()
    rows = 0

    with _cyclic_gc_paused(), path.open("rb") as fh:
        for batch in parsing.iter_columns(
            fh,
            mapping,
            filename=result.filename,
            report=report,
            batch_size=batch_size,
            max_errors=MAX_ERRORS,
            max_field_chars=max_field_chars,
        ):
            if finder is not None:
                finder.add(batch.refs())
            if not batch.rows:
                continue
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.extend(batch.records(PREVIEW_ROWS - len(result.preview)))
            rows += len(batch)
            teams.update(batch.column("team"))
            resolved = resolver.resolve_batch(batch)
            if inserter is None or report.errors or report.errors_omitted or resolver.unknown:
                continue  # a dry run, or refused already: nothing (more) is written
            caseworker_ids = [pair[0] for pair in resolved]  # type: ignore[index]
            unit_ids = [pair[1] for pair in resolved]  # type: ignore[index]
            caseworkers.update(caseworker_ids)
            units.update(unit_ids)
            inserter.insert_batch(batch, caseworker_ids, unit_ids)

    teams.discard(None)
    result.rows = rows
    result.rows_in_file = report.rows_read
    result.file_kind = report.file_kind or ""
    result.encoding = report.encoding
    result.cpr_found = report.cpr_found
    result.ignored_columns = list(report.ignored_columns)
    result.has_team_column = bool(teams)
    result.file_teams = sorted((t for t in teams if t), key=str.lower)
    result.unknown_caseworkers = sorted(resolver.unknown.values(), key=lambda u: u.first_row)
    result.created_caseworkers = list(resolver.created_caseworkers)
    result.created_units = list(resolver.created_units)
    result.caseworkers, result.teams = len(caseworkers), len(units)
    result.errors = list(report.errors)
    result.errors_omitted = report.errors_omitted
    if not result.errors and rows == 0:
        result.errors.append(parsing.RowError(0, None, MSG_NO_CASES, None))
    return report


def _scan_duplicates(
    path: Path, mapping: mappings.ColumnMapping, filename: str, max_field_chars: int
) -> list[parsing.RowError]:
    """A second pass that only looks for duplicate case references (for refused imports)."""
    finder = _DuplicateFinder()
    report = parsing.ParseReport()
    try:
        with path.open("rb") as fh:
            for batch in parsing.iter_columns(
                fh,
                mapping,
                filename=filename,
                report=report,
                max_errors=0,
                max_field_chars=max_field_chars,
            ):
                finder.add(batch.refs())
        return list(_duplicate_errors(finder.duplicates(), report.case_ref_column))
    finally:
        finder.close()


def _unknown_caseworker_errors(
    result: ImportResult, mapping: mappings.ColumnMapping
) -> list[parsing.RowError]:
    """The errors the import reports for caseworkers it was not asked to create."""
    column = _column_label(mapping, "caseworker")
    return [
        parsing.RowError(
            unknown.first_row,
            column,
            messages.unknown_caseworker_reason(unknown.initials, unknown.cases),
            unknown.initials,
        )
        for unknown in result.unknown_caseworkers
    ]


def _add_errors(result: ImportResult, errors: Iterable[parsing.RowError]) -> None:
    """Add errors found after the parse and keep the report in row order."""
    before = result.error_count
    for error in errors:
        result.add_error(error)
    if result.error_count != before:
        result.errors.sort(key=lambda e: e.row)


def analyse_file(
    session: Session,
    path: Path,
    mapping: mappings.ColumnMapping,
    *,
    filename: str,
    max_field_chars: int = parsing.MAX_FIELD_CHARS,
) -> ImportResult:
    """Dry run for the preview: validate everything, list unknown caseworkers; write nothing.

    Unknown caseworkers are not errors while the file is otherwise valid (the preview lets the
    user create them). When the file is refused anyway, they are listed among the errors too,
    so the report matches the command line's.
    """
    result = ImportResult(clean_filename(filename), file_sha256(path), mapping.name)
    result.same_file = earlier_snapshots(session, result.sha256)
    resolver = _Resolver(session, None, choices=None, create_in_file_team=False, dry_run=True)
    finder = _DuplicateFinder()
    try:
        report = _scan(
            path,
            mapping,
            result,
            resolver,
            inserter=None,
            finder=finder,
            batch_size=BATCH_SIZE,
            max_field_chars=max_field_chars,
        )
        _add_errors(result, _duplicate_errors(finder.duplicates(), report.case_ref_column))
    finally:
        finder.close()
    if not result.ok:
        _add_errors(result, _unknown_caseworker_errors(result, mapping))
    return result


def import_file(
    session: Session,
    actor: User | None,
    path: Path,
    mapping: mappings.ColumnMapping,
    *,
    as_of: date,
    filename: str,
    unit_choices: Mapping[str, UnitChoice] | None = None,
    create_caseworkers: bool = False,
    imported_by_name: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_field_chars: int = parsing.MAX_FIELD_CHARS,
) -> ImportResult:
    """Import ``path`` as a new snapshot (flushes, never commits).

    Unknown caseworkers are created in the unit chosen in ``unit_choices`` (initials -> unit id
    or unit name; a missing unit is created), or with ``create_caseworkers`` in the unit named in
    the file's team column (:data:`UNKNOWN_UNIT_NAME` without one). Any other unknown caseworker
    is an error. ``imported_by_name`` names an importer without a user account (the command
    line); the snapshot and the audit log both record it. If the result is not ``ok`` the caller
    must roll back.
    """
    started = time.perf_counter()
    result = ImportResult(clean_filename(filename), file_sha256(path), mapping.name)
    result.same_file = earlier_snapshots(session, result.sha256)
    importer = _importer_name(actor, imported_by_name)
    snapshot = Snapshot(
        as_of=as_of,
        source_filename=result.filename,
        sha256=result.sha256,
        mapping_name=mapping.name,
        row_count=0,
        imported_by_id=actor.id if actor is not None else None,
        imported_by_name=importer,
    )
    session.add(snapshot)
    session.flush()
    resolver = _Resolver(
        session, actor, choices=unit_choices, create_in_file_team=create_caseworkers, dry_run=False
    )
    inserter = _CaseInserter(session, snapshot.id)
    try:
        _scan(
            path,
            mapping,
            result,
            resolver,
            inserter=inserter,
            finder=None,
            batch_size=batch_size,
            max_field_chars=max_field_chars,
        )
    except (ImportSetupError, org.OrgError) as exc:
        result.add_error(parsing.RowError(0, None, str(exc), None))
    _add_errors(result, _unknown_caseworker_errors(result, mapping))
    # Rows with a repeated case reference were skipped by the insert: fewer rows stored than
    # sent means duplicates. When that happens, or when writing stopped at an earlier error, a
    # second, read-only pass finds every duplicate with its rows.
    if not result.ok or _stored_count(session, snapshot.id) != inserter.sent:
        duplicates = _scan_duplicates(path, mapping, result.filename, max_field_chars)
        _add_errors(result, duplicates)
        if result.ok:  # cannot happen unless the file changed between the two passes
            result.add_error(parsing.RowError(0, None, MSG_CHANGED, None))
    if not result.ok:
        result.seconds = time.perf_counter() - started
        return result

    session.execute(
        update(Snapshot)
        .where(Snapshot.id == snapshot.id)
        .values(
            row_count=result.rows,
            file_kind=result.file_kind[:10] or "csv",
            encoding=(result.encoding or None) and str(result.encoding)[:40],
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(snapshot)
    result.snapshot = snapshot
    audit.record(
        session,
        actor,
        "import",
        "snapshot",
        snapshot.id,
        f"Sagsudtræk {result.filename} indlæst pr. {as_of.isoformat()}: {result.rows} sager",
        {
            "filename": result.filename,
            "sha256": result.sha256,
            "mapping": mapping.name,
            "as_of": as_of.isoformat(),
            "rows": result.rows,
            "caseworkers": result.caseworkers,
            "teams": result.teams,
            "ignored_columns": result.ignored_columns,
            "created_caseworkers": result.created_caseworkers,
            "created_units": result.created_units,
            "same_file_as": [earlier.id for earlier in result.same_file],
        },
        actor_name=importer,
    )
    result.seconds = time.perf_counter() - started
    return result


def _importer_name(actor: User | None, imported_by_name: str | None) -> str:
    return (imported_by_name or audit.actor_name(actor))[:80]


def record_refused_import(
    session: Session,
    actor: User | None,
    result: ImportResult,
    *,
    imported_by_name: str | None = None,
) -> None:
    """Audit a refused import attempt (call after rolling the attempt back)."""
    audit.record(
        session,
        actor,
        "import_refused",
        "snapshot",
        None,
        f"Import af {result.filename} afvist: {result.error_count} fejl",
        {
            "filename": result.filename,
            "sha256": result.sha256,
            "mapping": result.mapping_name,
            "errors": result.error_count,
            "cpr_found": result.cpr_found,
            "unknown_caseworkers": [u.initials for u in result.unknown_caseworkers],
        },
        actor_name=_importer_name(actor, imported_by_name),
    )


# --- Reading snapshots (aggregates only) ------------------------------------------------------


@dataclass(frozen=True)
class SnapshotRow:
    snapshot: Snapshot
    caseworkers: int
    teams: int


def list_snapshots(session: Session) -> list[SnapshotRow]:
    counts = {
        sid: (int(cw), int(units))
        for sid, cw, units in session.execute(
            select(
                Case.snapshot_id,
                func.count(func.distinct(Case.caseworker_id)),
                func.count(func.distinct(Case.unit_id)),
            ).group_by(Case.snapshot_id)
        )
    }
    snapshots = session.scalars(
        select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())
    ).all()
    return [SnapshotRow(s, *counts.get(s.id, (0, 0))) for s in snapshots]


@dataclass(frozen=True)
class CaseloadRow:
    initials: str
    name: str
    unit: str
    cases: int


@dataclass(frozen=True)
class SnapshotDetail:
    snapshot: Snapshot
    total: int
    per_team: list[tuple[str, int, int]]  # team, caseworkers, cases
    per_scheme: list[tuple[str, int]]
    per_caseworker: list[CaseloadRow]
    caseload_min: int
    caseload_median: float
    caseload_max: int
    caseload_mean: float


def snapshot_detail(session: Session, snapshot_id: int) -> SnapshotDetail | None:
    """Counts per team, scheme and caseworker in one snapshot (no case-level rows)."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        return None
    per_team = [
        (name or "—", int(cw), int(n))
        for name, cw, n in session.execute(
            select(Unit.name, func.count(func.distinct(Case.caseworker_id)), func.count(Case.id))
            .select_from(Case)
            .outerjoin(Unit, Case.unit_id == Unit.id)
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Unit.name)
            .order_by(Unit.name)
        )
    ]
    per_scheme = [
        (scheme_label(code), int(n))
        for code, n in session.execute(
            select(Case.scheme, func.count(Case.id))
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Case.scheme)
            .order_by(func.count(Case.id).desc(), Case.scheme)
        )
    ]
    per_caseworker = [
        CaseloadRow(initials, name, unit or "—", int(n))
        for initials, name, unit, n in session.execute(
            select(Caseworker.initials, Caseworker.name, Unit.name, func.count(Case.id))
            .select_from(Case)
            .join(Caseworker, Case.caseworker_id == Caseworker.id)
            .outerjoin(Unit, Case.unit_id == Unit.id)
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Caseworker.initials, Caseworker.name, Unit.name)
            .order_by(Unit.name, Caseworker.initials)
        )
    ]
    loads = sorted(row.cases for row in per_caseworker)
    total = sum(loads)
    median = 0.0
    if loads:
        mid = len(loads) // 2
        median = float(loads[mid]) if len(loads) % 2 else (loads[mid - 1] + loads[mid]) / 2
    return SnapshotDetail(
        snapshot,
        total,
        per_team,
        per_scheme,
        per_caseworker,
        loads[0] if loads else 0,
        median,
        loads[-1] if loads else 0,
        total / len(loads) if loads else 0.0,
    )


# --- Uploads kept between the preview and the confirmation -----------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
UPLOAD_FILE = "upload.bin"
META_FILE = "meta.json"
#: The full error report of a refused upload (JSON lines: row, column, reason, value).
ERRORS_FILE = "errors.jsonl"
#: Uploads not confirmed or aborted within this time are removed by the next upload or analysis.
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
#: Errors shown on the preview page (all of them are in the downloadable report).
DISPLAY_ERRORS = 1000


@dataclass(frozen=True)
class PendingUpload:
    """An upload between preview and confirmation. ``refused``: the analysis refused the file,
    which is deleted; only its report is kept (until aborted or stale)."""

    token: str
    path: Path
    filename: str
    mapping_name: str
    as_of: date
    user_id: int
    refused: bool = False


def store_upload(
    root: Path,
    stream: IO[bytes],
    *,
    filename: str | None,
    mapping_name: str,
    as_of: date,
    user_id: int,
) -> PendingUpload:
    """Save an uploaded file under ``root/<random token>/`` (server-side, never in the session).

    A disk that is full (or any other write error) leaves nothing behind: the half-written
    directory is removed and :class:`ImportSetupError` says so in Danish.
    """
    remove_stale_uploads(root)
    token = secrets.token_urlsafe(32)
    directory = root / token
    try:
        directory.mkdir(parents=True, mode=0o700)
        path = directory / UPLOAD_FILE
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        upload = PendingUpload(token, path, clean_filename(filename), mapping_name, as_of, user_id)
        _write_meta(
            upload,
            {
                "filename": upload.filename,
                "mapping": mapping_name,
                "as_of": as_of.isoformat(),
                "user_id": user_id,
            },
        )
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ImportSetupError(
                _(
                    "Der er ikke plads til filen på serveren (disken er fuld). Intet er gemt; "
                    "bed en administrator om at frigøre plads, og prøv igen."
                )
            ) from exc
        raise ImportSetupError(
            _("Filen kunne ikke gemmes på serveren. Intet er gemt; prøv igen.")
        ) from exc
    return upload


def _read_meta(directory: Path) -> dict[str, Any]:
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("meta.json is not an object")
    return meta


def _write_meta(upload: PendingUpload, meta: dict[str, Any]) -> None:
    (upload.path.parent / META_FILE).write_text(json.dumps(meta), encoding="utf-8")


def analyse_upload(
    session: Session,
    root: Path,
    upload: PendingUpload,
    mapping: mappings.ColumnMapping,
    *,
    max_field_chars: int = parsing.MAX_FIELD_CHARS,
) -> ImportResult:
    """Analyse a pending upload (see :func:`analyse_file`) and remember what the confirmation
    needs. Stale uploads are removed first. A refused file is deleted at once: only its report
    is kept (see :func:`keep_report_only`)."""
    remove_stale_uploads(root)
    result = analyse_file(
        session, upload.path, mapping, filename=upload.filename, max_field_chars=max_field_chars
    )
    remember_analysis(upload, result)
    if not result.ok:
        keep_report_only(upload, result)
    return result


def remember_analysis(upload: PendingUpload, result: ImportResult) -> None:
    """Keep what the confirmation step needs (unknown caseworkers, teams) beside the upload."""
    meta = _read_meta(upload.path.parent)
    meta["errors"] = result.error_count
    meta["file_teams"] = result.file_teams
    meta["unknown"] = [
        [u.initials, u.name, u.team, u.first_row, u.cases] for u in result.unknown_caseworkers
    ]
    _write_meta(upload, meta)


def keep_report_only(upload: PendingUpload, result: ImportResult) -> PendingUpload:
    """Delete a refused upload's file at once and keep only its report (never a CPR value:
    errors carry no CPR-like values, and ignored columns with CPR-like names are left out)."""
    upload.path.unlink(missing_ok=True)
    directory = upload.path.parent
    with (directory / ERRORS_FILE).open("w", encoding="utf-8") as out:
        for error in result.errors:
            out.write(json.dumps([error.row, error.column, error.reason, error.value]) + "\n")
        if result.errors_omitted:
            reason = MSG_MORE_ERRORS.format(n=result.errors_omitted)
            out.write(json.dumps([0, None, reason, None]) + "\n")
    meta = _read_meta(directory)
    meta.update(
        {
            "refused": True,
            "errors": result.error_count,
            "report": {
                "sha256": result.sha256,
                "file_kind": result.file_kind,
                "encoding": result.encoding,
                "rows": result.rows,
                "rows_in_file": result.rows_in_file,
                "ignored_columns": result.ignored_columns,
                "cpr_found": result.cpr_found,
                "same_file": [[s.id, s.imported_at.isoformat()] for s in result.same_file],
            },
        }
    )
    _write_meta(upload, meta)
    return replace(upload, refused=True)


def _stored_errors(upload: PendingUpload) -> Iterator[parsing.RowError]:
    try:
        with (upload.path.parent / ERRORS_FILE).open(encoding="utf-8") as fh:
            for line in fh:
                row, column, reason, value = json.loads(line)
                yield parsing.RowError(int(row), column, str(reason), value)
    except FileNotFoundError:
        return


def stored_report(upload: PendingUpload, limit: int = DISPLAY_ERRORS) -> ImportResult:
    """The kept report of a refused upload, with its first ``limit`` errors."""
    meta = _read_meta(upload.path.parent)
    report = meta.get("report") or {}
    result = ImportResult(upload.filename, str(report.get("sha256", "")), upload.mapping_name)
    result.file_kind = str(report.get("file_kind") or "")
    result.encoding = report.get("encoding")
    result.rows = int(report.get("rows", 0))
    result.rows_in_file = int(report.get("rows_in_file", 0))
    result.ignored_columns = [str(c) for c in report.get("ignored_columns", [])]
    result.cpr_found = bool(report.get("cpr_found", False))
    result.same_file = [
        EarlierSnapshot(int(sid), datetime.fromisoformat(at))
        for sid, at in report.get("same_file", [])
    ]
    result.unknown_caseworkers = remembered_unknown(upload)[0]
    errors = _stored_errors(upload)
    result.errors = [error for _, error in zip(range(limit), errors, strict=False)]
    total = int(meta.get("errors", len(result.errors)))
    result.errors_omitted = max(total - len(result.errors), 0)
    return result


def error_report_csv(upload: PendingUpload) -> Iterator[str]:
    """The whole error report of a refused upload as CSV text (Danish Excel: ``;``, UTF-8 with
    BOM): row, column, value (where safe to show; never a CPR value) and reason, in the UI
    language (a web response streams this with ``stream_with_context``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("Række"), _("Kolonne"), _("Værdi"), _("Fejl")])
    whole_file = _("Hele filen")
    yield "\ufeff" + buffer.getvalue()
    for stored in _stored_errors(upload):
        error = messages.translate_error(stored)
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                error.row if error.row else whole_file,
                error.column or "",
                error.value or "",
                error.reason,
            ]
        )
        yield buffer.getvalue()


def remembered_unknown(upload: PendingUpload) -> tuple[list[UnknownCaseworker], list[str]]:
    """Unknown caseworkers and file teams saved by :func:`remember_analysis`."""
    try:
        meta = _read_meta(upload.path.parent)
        unknown = [
            UnknownCaseworker(str(i), str(n), None if t is None else str(t), int(r), int(c))
            for i, n, t, r, c in meta.get("unknown", [])
        ]
        return unknown, [str(t) for t in meta.get("file_teams", [])]
    except (OSError, ValueError, TypeError):
        return [], []


def load_upload(root: Path, token: str, user_id: int) -> PendingUpload | None:
    """The pending upload ``token`` of ``user_id`` (None if unknown, expired or someone else's)."""
    if not TOKEN_RE.match(token):
        return None
    directory = root / token
    try:
        meta = _read_meta(directory)
        upload = PendingUpload(
            token,
            directory / UPLOAD_FILE,
            str(meta["filename"]),
            str(meta["mapping"]),
            date.fromisoformat(meta["as_of"]),
            int(meta["user_id"]),
            bool(meta.get("refused", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if upload.user_id != user_id:
        return None
    if not upload.refused and not upload.path.is_file():
        return None
    return upload


def discard_upload(root: Path, token: str) -> None:
    if TOKEN_RE.match(token):
        shutil.rmtree(root / token, ignore_errors=True)


def remove_stale_uploads(root: Path, now: float | None = None) -> None:
    """Remove uploads (and kept reports) older than :data:`UPLOAD_MAX_AGE_SECONDS`."""
    if not root.is_dir():
        return
    limit = (time.time() if now is None else now) - UPLOAD_MAX_AGE_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and TOKEN_RE.match(entry.name) and entry.stat().st_mtime < limit:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def unit_options(session: Session, file_teams: Iterable[str]) -> list[tuple[str, str]]:
    """Choices for placing a new caseworker: existing units, then units named in the file."""
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    existing = {u.name.lower() for u in units}
    options = [(f"u:{u.id}", u.name) for u in units]
    options += [
        (f"n:{team}", _("%(team)s (ny enhed)", team=team))
        for team in file_teams
        if team.lower() not in existing
    ]
    return options


def default_unit_option(session: Session, team: str | None) -> str:
    """The option preselected for a caseworker whose file team is ``team``."""
    if not team:
        return ""
    unit = org.unit_by_name(session, team)
    return f"u:{unit.id}" if unit is not None else f"n:{team}"


def parse_unit_option(value: str) -> UnitChoice | None:
    """``u:<id>`` -> id, ``n:<name>`` -> name; anything else None."""
    if value.startswith("u:") and value[2:].isdigit():
        return int(value[2:])
    if value.startswith("n:") and value[2:].strip():
        return value[2:].strip()
    return None
