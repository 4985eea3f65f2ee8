"""Importing case-system exports as immutable population snapshots, and reading them back.

The import is one streaming pass over the file: the parser yields validated records in batches,
the service resolves each record's caseworker and inserts the batch with one ``executemany``.
All of it happens inside the caller's transaction. When anything is wrong (a parse error, an
unknown caseworker, a duplicate case reference, a CPR number) the service keeps reading to report
*every* error, stops writing, and returns a refused :class:`ImportResult`; the caller rolls back,
so nothing is half-written, and may then record the refusal with :func:`record_refused_import`.

Memory stays flat with file size: one batch of rows, the set of case references seen (duplicate
detection) and the caseworker lookup are all that is held.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases import mapping as mappings
from tilsyn.cases import parsing
from tilsyn.cases.models import Case, Snapshot
from tilsyn.org import services as org
from tilsyn.org.models import Caseworker, Unit
from tilsyn.schemes import SCHEMES

#: Unit for caseworkers created from a file without a team column.
UNKNOWN_UNIT_NAME = "Ukendt enhed"
BATCH_SIZE = 5000
PREVIEW_ROWS = 10
#: Column lengths for what the service itself writes (the parser checks the record fields).
MAX_TEAM = 120
MAX_CASEWORKER_NAME = 200
MAX_FILENAME = 255

#: How the user asked unknown caseworkers to be placed: initials -> existing unit id, or the
#: name of a unit (created if missing).
UnitChoice = int | str


class ImportSetupError(ValueError):
    """A user-facing (Danish) refusal that is not tied to a row (e.g. an unknown mapping)."""


@dataclass(frozen=True)
class UnknownCaseworker:
    """Initials in the file with no caseworker in tilsyn."""

    initials: str
    name: str
    team: str | None  # the team named in the file (first row seen)
    first_row: int
    cases: int


@dataclass
class ImportResult:
    """Outcome of :func:`analyse_file` (dry run) or :func:`import_file`."""

    filename: str
    sha256: str
    mapping_name: str
    file_kind: str = ""
    encoding: str | None = None
    errors: list[parsing.RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    preview: list[parsing.CaseRecord] = field(default_factory=list)
    unknown_caseworkers: list[UnknownCaseworker] = field(default_factory=list)
    file_teams: list[str] = field(default_factory=list)
    has_team_column: bool = False
    snapshot: Snapshot | None = None
    caseworkers: int = 0
    teams: int = 0
    created_caseworkers: list[str] = field(default_factory=list)
    created_units: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_dicts(self) -> list[dict[str, Any]]:
        """Errors for machine output: row (header = 1; 0 for the whole file), column, reason."""
        return [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def clean_filename(name: str | None) -> str:
    """The base name of an uploaded file, without directories or control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base or "ukendt-fil")[:MAX_FILENAME]


def load_mapping(name: str | None, directory: str | Path | None) -> mappings.ColumnMapping:
    """The named column mapping (default: the standard one), or :class:`ImportSetupError`."""
    wanted = name or mappings.DEFAULT_MAPPING
    try:
        return mappings.load_mapping(wanted, directory)
    except (OSError, ValueError, KeyError) as exc:
        raise ImportSetupError(
            f"Kolonneopsætningen «{wanted}» findes ikke eller er ugyldig."
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

    def resolve(self, record: parsing.CaseRecord, initials: str) -> tuple[int, int] | None:
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
        choice = self._choice_for(initials, record.team)
        if self.dry_run or choice is None:
            self.unknown[initials] = UnknownCaseworker(
                initials, record.caseworker_name or "", record.team, record.row, 1
            )
            return None
        unit = self._unit(choice)
        caseworker = org.save_caseworker(
            self.session,
            self.actor,
            initials,
            (record.caseworker_name or initials)[:MAX_CASEWORKER_NAME],
            unit,
            None,
        )
        self.created_caseworkers.append(initials)
        self.known[initials] = (caseworker.id, unit.id)
        return self.known[initials]

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
)
_DATE_COLUMNS = frozenset({"start_date", "last_conversation", "reassessment_due"})


class _CaseInserter:
    """Batched insert of case rows: one DBAPI ``executemany`` per batch.

    The INSERT is compiled by SQLAlchemy for the session's dialect (so the SQL and parameter
    style are right for SQLite and PostgreSQL alike), and the columns' own bind processors are
    applied once per distinct value (dates repeat a lot). This skips SQLAlchemy's per-row
    parameter machinery, which otherwise costs more than the insert itself.
    """

    def __init__(self, session: Session, snapshot_id: int) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        table = Case.__table__
        compiled = (
            insert(table)
            .values({name: bindparam(name) for name in _CASE_COLUMNS})
            .compile(dialect=dialect)
        )
        self.sql = compiled.string
        order = list(compiled.positiontup or ()) if compiled.positional else []
        if compiled.positional and order != list(_CASE_COLUMNS):
            raise RuntimeError("unexpected parameter order in the compiled INSERT")
        self.positional = compiled.positional
        self.snapshot_id = snapshot_id
        self.rows: list[tuple[Any, ...]] = []
        processors = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _CASE_COLUMNS
        }
        date_processor = processors["start_date"]
        self._dates: dict[date, Any] = {}
        self._date = (
            (lambda value: value)
            if date_processor is None
            else (lambda value: self._cached(value, date_processor))
        )
        self._bool = processors["job_goal"] or (lambda value: value)
        self._float = processors["weekly_hours"] or (lambda value: value)
        others = {
            name: proc
            for name, proc in processors.items()
            if proc is not None
            and name not in _DATE_COLUMNS | {"job_goal", "cv_on_jobnet", "weekly_hours"}
        }
        if others:
            raise RuntimeError(f"unexpected bind processors for {sorted(others)}")

    def _cached(self, value: date, processor: Any) -> Any:
        out = self._dates.get(value)
        if out is None:
            out = self._dates[value] = processor(value)
        return out

    @property
    def pending(self) -> int:
        return len(self.rows)

    def add(self, record: parsing.CaseRecord, caseworker_id: int, unit_id: int) -> None:
        to_date, to_bool = self._date, self._bool
        last, due = record.last_conversation, record.reassessment_due
        goal, cv, hours = record.job_goal, record.cv_on_jobnet, record.weekly_hours
        self.rows.append(
            (
                self.snapshot_id,
                record.case_ref,
                caseworker_id,
                unit_id,
                record.team,
                record.scheme,
                to_date(record.start_date),
                None if last is None else to_date(last),
                record.conversations_12m,
                None if due is None else to_date(due),
                record.caseworker_changes_12m,
                None if goal is None else to_bool(goal),
                None if cv is None else to_bool(cv),
                None if hours is None else self._float(hours),
            )
        )

    def flush(self) -> None:
        if not self.rows:
            return
        if self.positional:
            self.connection.exec_driver_sql(self.sql, self.rows)
        else:
            self.connection.exec_driver_sql(
                self.sql, [dict(zip(_CASE_COLUMNS, row, strict=True)) for row in self.rows]
            )
        self.rows.clear()

    def discard(self) -> None:
        self.rows.clear()


def _scan(
    session: Session,
    actor: User | None,
    path: Path,
    mapping: mappings.ColumnMapping,
    result: ImportResult,
    resolver: _Resolver,
    snapshot_id: int | None,
    batch_size: int,
) -> None:
    """One pass over the file: collect errors, and insert batches while none have been seen."""
    report = parsing.ParseReport()
    teams: set[str] = set()
    inserter = _CaseInserter(session, snapshot_id) if snapshot_id is not None else None
    rows = 0
    known = resolver.known

    with path.open("rb") as fh:
        for batch in parsing.iter_batches(
            fh, mapping, filename=result.filename, report=report, batch_size=batch_size
        ):
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.extend(batch[: PREVIEW_ROWS - len(result.preview)])
            rows += len(batch)
            writing = inserter is not None and not report.errors
            for record in batch:
                if record.team:
                    teams.add(record.team)
                # The parser strips and upper-cases initials, as tilsyn stores them.
                resolved = known.get(record.caseworker) or resolver.resolve(
                    record, record.caseworker
                )
                if resolved is not None and writing:
                    inserter.add(record, *resolved)  # type: ignore[union-attr]
            if inserter is not None:
                if report.errors:
                    inserter.discard()
                elif inserter.pending >= batch_size:
                    inserter.flush()
    if inserter is not None and not report.errors:
        inserter.flush()

    result.rows = rows
    result.file_kind = report.file_kind or ""
    result.encoding = report.encoding
    result.ignored_columns = list(report.ignored_columns)
    result.has_team_column = bool(teams)
    result.file_teams = sorted(teams, key=str.lower)
    result.unknown_caseworkers = sorted(resolver.unknown.values(), key=lambda u: u.first_row)
    result.created_caseworkers = list(resolver.created_caseworkers)
    result.created_units = list(resolver.created_units)
    errors = list(report.errors)
    if not errors and rows == 0:
        errors.append(parsing.RowError(0, None, "Filen indeholder ingen sager.", None))
    result.errors = errors


def analyse_file(
    session: Session,
    path: Path,
    mapping: mappings.ColumnMapping,
    *,
    filename: str,
) -> ImportResult:
    """Dry run for the preview: validate everything, list unknown caseworkers; write nothing.

    Unknown caseworkers are not errors here: the preview lets the user create them.
    """
    result = ImportResult(clean_filename(filename), file_sha256(path), mapping.name)
    resolver = _Resolver(session, None, choices=None, create_in_file_team=False, dry_run=True)
    _scan(session, None, path, mapping, result, resolver, None, BATCH_SIZE)
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
) -> ImportResult:
    """Import ``path`` as a new snapshot (flushes, never commits).

    Unknown caseworkers are created in the unit chosen in ``unit_choices`` (initials -> unit id
    or unit name; a missing unit is created), or with ``create_caseworkers`` in the unit named in
    the file's team column (:data:`UNKNOWN_UNIT_NAME` without one). Any other unknown caseworker
    is an error. If the result is not ``ok`` the caller must roll back.
    """
    started = time.perf_counter()
    result = ImportResult(clean_filename(filename), file_sha256(path), mapping.name)
    snapshot = Snapshot(
        as_of=as_of,
        source_filename=result.filename,
        sha256=result.sha256,
        mapping_name=mapping.name,
        row_count=0,
        imported_by_id=actor.id if actor is not None else None,
        imported_by_name=(
            imported_by_name or (actor.username if actor is not None else audit.SYSTEM_ACTOR)
        )[:80],
    )
    session.add(snapshot)
    session.flush()
    resolver = _Resolver(
        session, actor, choices=unit_choices, create_in_file_team=create_caseworkers, dry_run=False
    )
    try:
        _scan(session, actor, path, mapping, result, resolver, snapshot.id, batch_size)
    except (ImportSetupError, org.OrgError) as exc:
        result.errors.append(parsing.RowError(0, None, str(exc), None))
    if resolver.unknown:
        column = _column_label(mapping, "caseworker")
        result.errors.extend(
            parsing.RowError(
                unknown.first_row,
                column,
                f"Sagsbehandleren «{unknown.initials}» findes ikke i tilsyn "
                f"({unknown.cases} {'sag' if unknown.cases == 1 else 'sager'} i filen).",
                unknown.initials,
            )
            for unknown in result.unknown_caseworkers
        )
        result.errors.sort(key=lambda e: e.row)
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
    result.caseworkers, result.teams = session.execute(
        select(
            func.count(func.distinct(Case.caseworker_id)), func.count(func.distinct(Case.unit_id))
        ).where(Case.snapshot_id == snapshot.id)
    ).one()
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
        },
    )
    result.seconds = time.perf_counter() - started
    return result


def record_refused_import(session: Session, actor: User | None, result: ImportResult) -> None:
    """Audit a refused import attempt (call after rolling the attempt back)."""
    audit.record(
        session,
        actor,
        "import_refused",
        "snapshot",
        None,
        f"Import af {result.filename} afvist: {len(result.errors)} fejl",
        {
            "filename": result.filename,
            "sha256": result.sha256,
            "mapping": result.mapping_name,
            "errors": len(result.errors),
            "unknown_caseworkers": [u.initials for u in result.unknown_caseworkers],
        },
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
        (SCHEMES.get(code, code), int(n))
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
#: Uploads not confirmed or aborted within this time are removed by the next upload.
UPLOAD_MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PendingUpload:
    token: str
    path: Path
    filename: str
    mapping_name: str
    as_of: date
    user_id: int


def store_upload(
    root: Path,
    stream: IO[bytes],
    *,
    filename: str | None,
    mapping_name: str,
    as_of: date,
    user_id: int,
) -> PendingUpload:
    """Save an uploaded file under ``root/<random token>/`` (server-side, never in the session)."""
    _remove_stale(root)
    token = secrets.token_urlsafe(32)
    directory = root / token
    directory.mkdir(parents=True, mode=0o700)
    path = directory / UPLOAD_FILE
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    upload = PendingUpload(token, path, clean_filename(filename), mapping_name, as_of, user_id)
    (directory / META_FILE).write_text(
        json.dumps(
            {
                "filename": upload.filename,
                "mapping": mapping_name,
                "as_of": as_of.isoformat(),
                "user_id": user_id,
            }
        ),
        encoding="utf-8",
    )
    return upload


def remember_analysis(upload: PendingUpload, result: ImportResult) -> None:
    """Keep what the confirmation step needs (unknown caseworkers, teams) beside the upload."""
    meta_path = upload.path.parent / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["errors"] = len(result.errors)
    meta["file_teams"] = result.file_teams
    meta["unknown"] = [
        [u.initials, u.name, u.team, u.first_row, u.cases] for u in result.unknown_caseworkers
    ]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def remembered_unknown(upload: PendingUpload) -> tuple[list[UnknownCaseworker], list[str]]:
    """Unknown caseworkers and file teams saved by :func:`remember_analysis`."""
    try:
        meta = json.loads((upload.path.parent / META_FILE).read_text(encoding="utf-8"))
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
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        upload = PendingUpload(
            token,
            directory / UPLOAD_FILE,
            str(meta["filename"]),
            str(meta["mapping"]),
            date.fromisoformat(meta["as_of"]),
            int(meta["user_id"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if upload.user_id != user_id or not upload.path.is_file():
        return None
    return upload


def discard_upload(root: Path, token: str) -> None:
    if TOKEN_RE.match(token):
        shutil.rmtree(root / token, ignore_errors=True)


def _remove_stale(root: Path, now: float | None = None) -> None:
    if not root.is_dir():
        return
    limit = (time.time() if now is None else now) - UPLOAD_MAX_AGE_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and TOKEN_RE.match(entry.name) and entry.stat().st_mtime < limit:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def scheme_label(code: str) -> str:
    return SCHEMES.get(code, code)


def unit_options(session: Session, file_teams: Iterable[str]) -> list[tuple[str, str]]:
    """Choices for placing a new caseworker: existing units, then units named in the file."""
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    existing = {u.name.lower() for u in units}
    options = [(f"u:{u.id}", u.name) for u in units]
    options += [
        (f"n:{team}", f"{team} (ny enhed)") for team in file_teams if team.lower() not in existing
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
