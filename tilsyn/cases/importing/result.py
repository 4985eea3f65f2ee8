"""What an import (or its dry run) found, and the small facts about a file it is built from."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.cases.importing.cpr import CPR_REMOVED, looks_like_cpr, scrub_cpr
from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.parser import DEFAULT_BATCH_SIZE
from tilsyn.cases.importing.records import DEFAULT_MAX_ERRORS, CaseRecord
from tilsyn.cases.models import Snapshot
from tilsyn.errors import ServiceError

#: Unit for caseworkers created from a file without a team column.
UNKNOWN_UNIT_NAME = "Ukendt enhed"
BATCH_SIZE = DEFAULT_BATCH_SIZE
PREVIEW_ROWS = 10
#: Errors kept per import (each is small); more are counted and summarised in one line.
MAX_ERRORS = DEFAULT_MAX_ERRORS
#: Column lengths for what the service itself writes (the parser checks the record fields).
MAX_TEAM = 120
MAX_CASEWORKER_NAME = 200
MAX_FILENAME = 255

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
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    rows_in_file: int = 0
    preview: list[CaseRecord] = field(default_factory=list)
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
    #: Errors kept (the rest are counted in ``errors_omitted``).
    max_errors: int = MAX_ERRORS

    @property
    def ok(self) -> bool:
        return not self.errors and not self.errors_omitted

    @property
    def error_count(self) -> int:
        """Every error found, shown or not."""
        return len(self.errors) + self.errors_omitted

    def add_error(self, error: RowError) -> None:
        if len(self.errors) >= self.max_errors:
            self.errors_omitted += 1
        else:
            self.errors.append(error)

    def reported_errors(self) -> Iterator[RowError]:
        """The kept errors, then one saying how many more were found (if any were left out)."""
        yield from self.errors
        if self.errors_omitted:
            yield RowError(0, None, "more_errors", {"n": self.errors_omitted})

    def error_dicts(self) -> list[dict[str, Any]]:
        """Every error for machine output, in Danish: row (header = 1; 0 for the whole file),
        column, reason; plus one summary line if more than ``max_errors`` were found."""
        return [
            {"row": e.row, "column": e.column_name, "reason": e.reason}
            for e in self.reported_errors()
        ]


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
    base = scrub_cpr(base)
    return (base or "ukendt-fil")[:MAX_FILENAME]


def filename_is_cpr(name: str | None) -> bool:
    """Does the file's name (without directories) hold something shaped like a CPR number?
    Such a file is refused (``010190-1234.csv``, ``0101901234.xlsx``); so is a name already
    scrubbed by :func:`clean_filename`."""
    base = re.split(r"[\\/]", name or "")[-1]
    return looks_like_cpr(base) or CPR_REMOVED in base


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
