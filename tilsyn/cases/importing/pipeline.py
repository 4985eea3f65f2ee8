"""Importing case-system exports as immutable population snapshots.

The import is one streaming pass over the file: the parser yields validated rows in column
batches, the service resolves each row's caseworker (one dictionary lookup per distinct
initials) and inserts the batch with one ``executemany``. All of it happens inside the caller's
transaction. When anything is wrong (a parse error, an unknown caseworker, a duplicate case
reference, a CPR number) the service keeps reading to report *every* error, stops writing, and
returns a refused :class:`ImportResult`; the caller rolls back, so nothing is half-written, and
may then record the refusal with :func:`record_refused_import`.

Memory stays flat with file size: one batch of rows, bounded caches and the caseworker lookup
are all that is held. Duplicate case references are found in a database, not in a dictionary
(:mod:`.inserter`). Each case keeps its file row (``cases.source_row``) for traceability.
A file whose name looks like a CPR number is refused before it is read.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.inserter import (
    CaseInserter,
    DuplicateFinder,
    duplicate_errors,
    stored_count,
)
from tilsyn.cases.importing.parser import iter_columns
from tilsyn.cases.importing.records import Limits, ParseReport, RecordBatch
from tilsyn.cases.importing.resolver import Resolver
from tilsyn.cases.importing.result import (
    BATCH_SIZE,
    MAX_ERRORS,
    PREVIEW_ROWS,
    ImportResult,
    ImportSetupError,
    UnitChoice,
    clean_filename,
    earlier_snapshots,
    file_sha256,
    filename_is_cpr,
)
from tilsyn.cases.importing.values import MAX_FIELD_CHARS
from tilsyn.cases.mapping import ColumnMapping
from tilsyn.cases.models import Snapshot
from tilsyn.org import services as org

#: How far back an as-of date may lie (``IMPORT_MAX_AS_OF_AGE_DAYS``).
MAX_AS_OF_AGE_DAYS = 365


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


@dataclass(frozen=True)
class _Reading:
    """How a file is read: batch size, longest CSV field, limits, and its as-of date."""

    batch_size: int
    max_field_chars: int
    limits: Limits | None
    as_of: date | None


def _scan(
    path: Path,
    mapping: ColumnMapping,
    result: ImportResult,
    resolver: Resolver,
    reading: _Reading,
    *,
    inserter: CaseInserter | None,
    finder: DuplicateFinder | None,
) -> ParseReport:
    """One pass over the file: collect errors, and insert batches while none have been seen.
    A case that starts after ``as_of`` is an error (the file cannot be as of that date)."""
    report = ParseReport()
    teams: set[str | None] = set()
    caseworkers: set[int] = set()
    units: set[int] = set()
    rows = 0

    with _cyclic_gc_paused(), path.open("rb") as fh:
        for batch in iter_columns(
            fh,
            mapping,
            filename=result.filename,
            report=report,
            batch_size=reading.batch_size,
            max_errors=result.max_errors,
            max_field_chars=reading.max_field_chars,
            limits=reading.limits,
        ):
            if finder is not None:
                finder.add(batch.refs())
            if not batch.rows:
                continue
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.extend(batch.records(PREVIEW_ROWS - len(result.preview)))
            rows += len(batch)
            if reading.as_of is not None:
                _check_starts(report, batch, mapping, reading.as_of)
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
        result.errors.append(RowError(0, None, "no_cases"))
    return report


def _check_starts(
    report: ParseReport, batch: RecordBatch, mapping: ColumnMapping, as_of: date
) -> None:
    """Report every case of the batch that starts after the as-of date."""
    starts = batch.column("start_date")
    if max(starts) <= as_of:
        return
    column = mapping.header_for("start_date")
    when = as_of.strftime("%d-%m-%Y")
    for row, start in zip(batch.rows, starts, strict=True):
        if start > as_of:
            value = start.strftime("%d-%m-%Y")
            report.add(RowError(row, column, "start_after_as_of", {"as_of": when}, value))


def _scan_duplicates(
    path: Path, mapping: ColumnMapping, filename: str, reading: _Reading
) -> list[RowError]:
    """A second pass that only looks for duplicate case references (for refused imports)."""
    finder = DuplicateFinder()
    report = ParseReport()
    try:
        with path.open("rb") as fh:
            for batch in iter_columns(
                fh,
                mapping,
                filename=filename,
                report=report,
                max_errors=0,
                max_field_chars=reading.max_field_chars,
                limits=reading.limits,
            ):
                finder.add(batch.refs())
        return list(duplicate_errors(finder.duplicates(), report.case_ref_column))
    finally:
        finder.close()


def _unknown_caseworker_errors(result: ImportResult, mapping: ColumnMapping) -> list[RowError]:
    """The errors the import reports for caseworkers it was not asked to create."""
    column = mapping.header_for("caseworker")
    return [
        RowError(
            unknown.first_row,
            column,
            "unknown_caseworker",
            {"initials": unknown.initials, "num": unknown.cases},
            unknown.initials,
        )
        for unknown in result.unknown_caseworkers
    ]


def as_of_problem(
    as_of: date, today: date, max_age_days: int = MAX_AS_OF_AGE_DAYS
) -> RowError | None:
    """Why a file cannot be as of ``as_of`` (in the future, or more than ``max_age_days``
    back), or None."""
    if as_of > today:
        return RowError(0, None, "as_of_future", {"as_of": as_of.strftime("%d-%m-%Y")})
    if as_of < today - timedelta(days=max_age_days):
        return RowError(0, None, "as_of_too_old", {"days": max_age_days})
    return None


def _new_result(
    session: Session,
    path: Path,
    mapping: ColumnMapping,
    filename: str,
    max_errors: int,
    as_of_error: RowError | None,
) -> ImportResult:
    """The result an import starts from; a file whose name looks like a CPR number, or with an
    impossible as-of date, is refused at once (a CPR-like name is never shown:
    ``clean_filename`` scrubs it)."""
    result = ImportResult(clean_filename(filename), file_sha256(path), mapping.name)
    result.max_errors = max_errors
    result.same_file = earlier_snapshots(session, result.sha256)
    if filename_is_cpr(filename):
        result.cpr_found = True
        result.errors.append(RowError(0, None, "cpr_filename"))
    if as_of_error is not None:
        result.errors.append(as_of_error)
    return result


def _add_errors(result: ImportResult, errors: Iterable[RowError]) -> None:
    """Add errors found after the parse and keep the report in row order."""
    before = result.error_count
    for error in errors:
        result.add_error(error)
    if result.error_count != before:
        result.errors.sort(key=lambda e: e.row)


def analyse_file(
    session: Session,
    path: Path,
    mapping: ColumnMapping,
    *,
    filename: str,
    max_field_chars: int = MAX_FIELD_CHARS,
    limits: Limits | None = None,
    max_errors: int = MAX_ERRORS,
    as_of: date | None = None,
    today: date | None = None,
    max_as_of_age_days: int = MAX_AS_OF_AGE_DAYS,
) -> ImportResult:
    """Dry run for the preview: validate everything, list unknown caseworkers; write nothing.
    With ``as_of`` the date is checked as :func:`import_file` checks it.

    Unknown caseworkers are not errors while the file is otherwise valid (the preview lets the
    user create them). When the file is refused anyway, they are listed among the errors too,
    so the report matches the command line's.
    """
    problem = None
    if as_of is not None:
        problem = as_of_problem(as_of, today or date.today(), max_as_of_age_days)
    result = _new_result(session, path, mapping, filename, max_errors, problem)
    if not result.ok:
        return result
    resolver = Resolver(session, None, choices=None, create_in_file_team=False, dry_run=True)
    finder = DuplicateFinder()
    try:
        reading = _Reading(BATCH_SIZE, max_field_chars, limits, as_of)
        report = _scan(path, mapping, result, resolver, reading, inserter=None, finder=finder)
        _add_errors(result, duplicate_errors(finder.duplicates(), report.case_ref_column))
    finally:
        finder.close()
    if not result.ok:
        _add_errors(result, _unknown_caseworker_errors(result, mapping))
    return result


def import_file(
    session: Session,
    actor: User | None,
    path: Path,
    mapping: ColumnMapping,
    *,
    as_of: date,
    filename: str,
    unit_choices: Mapping[str, UnitChoice] | None = None,
    create_caseworkers: bool = False,
    imported_by_name: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_field_chars: int = MAX_FIELD_CHARS,
    limits: Limits | None = None,
    max_errors: int = MAX_ERRORS,
    today: date | None = None,
    max_as_of_age_days: int = MAX_AS_OF_AGE_DAYS,
) -> ImportResult:
    """Import ``path`` as a new snapshot (flushes, never commits).

    ``as_of`` may not lie after ``today`` nor more than ``max_as_of_age_days`` before it, and no
    case may start after it.

    Unknown caseworkers are created in the unit chosen in ``unit_choices`` (initials -> unit id
    or unit name; a missing unit is created), or with ``create_caseworkers`` in the unit named in
    the file's team column (:data:`UNKNOWN_UNIT_NAME` without one). Any other unknown caseworker
    is an error. ``imported_by_name`` names an importer without a user account (the command
    line); the snapshot and the audit log both record it. If the result is not ``ok`` the caller
    must roll back.
    """
    started = time.perf_counter()
    problem = as_of_problem(as_of, today or date.today(), max_as_of_age_days)
    result = _new_result(session, path, mapping, filename, max_errors, problem)
    if not result.ok:
        return result
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
    resolver = Resolver(
        session, actor, choices=unit_choices, create_in_file_team=create_caseworkers, dry_run=False
    )
    inserter = CaseInserter(session, snapshot.id)
    reading = _Reading(batch_size, max_field_chars, limits, as_of)
    try:
        _scan(path, mapping, result, resolver, reading, inserter=inserter, finder=None)
    except (ImportSetupError, org.OrgError) as exc:
        result.add_error(RowError(0, None, "text", {"text": str(exc)}))
    _add_errors(result, _unknown_caseworker_errors(result, mapping))
    # Rows with a repeated case reference were skipped by the insert: fewer rows stored than
    # sent means duplicates. When that happens, or when writing stopped at an earlier error, a
    # second, read-only pass finds every duplicate with its rows.
    if not result.ok or stored_count(session, snapshot.id) != inserter.sent:
        duplicates = _scan_duplicates(path, mapping, result.filename, reading)
        _add_errors(result, duplicates)
        if result.ok:  # cannot happen unless the file changed between the two passes
            result.add_error(RowError(0, None, "changed"))
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
