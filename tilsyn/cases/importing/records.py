"""What the parser hands out: valid rows (as records or column batches) and its report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from tilsyn.cases.fields import CANONICAL_FIELDS
from tilsyn.cases.importing.errors import RowError, Text

#: Errors kept in a report (each is small; the rest are counted in ``errors_omitted``).
DEFAULT_MAX_ERRORS = 10_000


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One valid case row, with the canonical fields only (``row``: its row in the file)."""

    row: int
    case_ref: str
    caseworker: str
    caseworker_name: str | None
    team: str | None
    scheme: str
    start_date: date
    last_conversation: date | None
    conversations_12m: int | None
    reassessment_due: date | None
    caseworker_changes_12m: int | None
    job_goal: bool | None
    cv_on_jobnet: bool | None
    weekly_hours: float | None


#: CaseRecord fields after ``row``, in constructor order.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CaseRecord))[1:]
assert set(RECORD_FIELDS) == set(CANONICAL_FIELDS)


@dataclass(frozen=True)
class Limits:
    """The most a file may hold (``[import]`` in ``config/default.toml``): a file beyond them is
    refused at once, before it is read to the end."""

    max_rows: int = 1_000_000
    max_columns: int = 500
    #: Bytes an XLSX file may unpack to (its sheets, strings and styles together).
    max_unpacked_bytes: int = 400 * 1024 * 1024

    def refuse_rows(self, report: ParseReport, rows: int) -> bool:
        """Refuse the file (True) if it has more than ``max_rows`` data rows."""
        if rows <= self.max_rows:
            return False
        report.file_error("too_many_rows", max=self.max_rows)
        return True

    def refuse_width(self, report: ParseReport, row: int, width: int) -> bool:
        """Refuse the file (True) if row ``row`` has more than ``max_columns`` cells."""
        if width <= self.max_columns:
            return False
        report.file_error("too_many_columns", row=row, max=self.max_columns)
        return True


@dataclass
class ParseReport:
    """What happened while parsing; filled in by :func:`iter_records` as it goes.

    ``missing_required`` holds canonical field names (see ``fields.FIELD_LABELS``);
    ``rows_read`` counts non-blank data rows (valid or not); ``errors_omitted`` counts errors
    beyond ``max_errors`` (None: no limit) that were counted but not stored.
    """

    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str | None = None
    file_kind: str | None = None
    rows_read: int = 0
    cpr_found: bool = False
    errors_omitted: int = 0
    #: The file's header of the case reference column (for duplicate messages).
    case_ref_column: str | None = None
    max_errors: int | None = DEFAULT_MAX_ERRORS

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, error: RowError) -> None:
        """Keep ``error``, or only count it once ``max_errors`` are kept."""
        if self.max_errors is not None and len(self.errors) >= self.max_errors:
            self.errors_omitted += 1
        else:
            self.errors.append(error)

    def error(self, row: int, column: str | Text | None, code: str, **params: Any) -> None:
        """Add an error without a value."""
        self.add(RowError(row, column, code, params))

    def file_error(self, code: str, **params: Any) -> None:
        """An error about the whole file (row 0) that stops parsing (always kept)."""
        self.errors.append(RowError(0, None, code, params))


# --- Batches of records -----------------------------------------------------------------------


@dataclass(slots=True)
class RecordBatch:
    """Valid rows of a stretch of the file, column by column.

    ``rows`` holds the file row numbers of the valid rows, ``columns`` maps each mapped
    canonical field to its converted values (same length as ``rows``; blank optional values
    are None). ``invalid_refs`` lists ``(case reference, row)`` of rows that were not valid
    but had a usable case reference, so that duplicates can be found among every row.
    """

    rows: Sequence[int]
    columns: dict[str, Sequence[Any]]
    invalid_refs: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> Sequence[Any]:
        """The values of one canonical field (all None when the file lacks the column)."""
        values = self.columns.get(name)
        return values if values is not None else (None,) * len(self.rows)

    def records(self, limit: int | None = None) -> list[CaseRecord]:
        """The rows as :class:`CaseRecord` objects (the first ``limit`` only, if given)."""
        count = len(self.rows) if limit is None else min(limit, len(self.rows))
        columns = [self.column(name)[:count] for name in RECORD_FIELDS]
        return [CaseRecord(*values) for values in zip(self.rows[:count], *columns, strict=True)]

    def refs(self) -> Iterator[tuple[str, int]]:
        """``(case reference, row)`` of every row with a usable case reference."""
        yield from zip(self.column("case_ref"), self.rows, strict=True)
        yield from self.invalid_refs
