"""Parsing and validation of case-system exports (CSV or XLSX) into :class:`CaseRecord` rows.

Pure code: no database, no Flask. The import service calls :func:`iter_batches` (or
:func:`iter_records`), inserts the records inside one transaction and rolls back when
``report.errors`` is non-empty after the last batch.

Properties:

* **Streaming.** CSV is decoded through a :class:`io.TextIOWrapper` and read in batches of
  rows; XLSX is read with openpyxl in read-only mode. :func:`iter_columns` keeps memory flat
  with file size: it holds one batch and bounded per-column caches. Duplicate case references
  need every reference at once, so they are found by the caller (the import service does it in
  the database); only the small-file helpers :func:`iter_records` and :func:`parse_all` find
  them in memory.
* **Fast.** A batch is validated column by column: each column has a precompiled converter
  with a cache of the distinct texts it has seen (dates, schemes, counts, names repeat), so
  most cells cost one dictionary lookup at C speed; the CPR screen runs once over the batch's
  joined text. Only a batch with a problem in it is gone through row by row.
* **Every bad row is reported.** Invalid rows are not yielded; their errors are appended to
  ``report.errors`` and parsing continues. File-level problems (unsupported file type, missing
  required column, undecodable bytes) are reported as errors on row 0 (or the header row) and
  stop parsing.
* **CPR guard.** Any cell (mapped or not, header included, on any sheet of a workbook) that
  looks like a CPR number (``ddmmyy-xxxx`` / ``ddmmyyxxxx`` with a valid day and month) refuses
  the whole file: the error names row and column, never the value, and no further records are
  yielded.
* **Never raises on file content.** Whatever bytes arrive, the result is records and/or errors.
  (Programming errors such as a non-existent path or a text-mode stream do raise.)

Row numbers are the file's own: header = row 1, blank lines count; for XLSX the sheet row.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain, islice
from operator import itemgetter
from typing import IO, Any

from tilsyn.cases.mapping import (
    CANONICAL_FIELDS,
    DEFAULT_MAPPING,
    FIELD_LABELS,
    ColumnMapping,
    HeaderMatch,
    clean_header,
    load_mapping,
)
from tilsyn.schemes import scheme_code

__all__ = [
    "CPR_PATTERN",
    "CaseRecord",
    "ParseReport",
    "RecordBatch",
    "RowError",
    "Source",
    "iter_batches",
    "iter_columns",
    "iter_records",
    "looks_like_cpr",
    "parse_all",
    "scrub_cpr",
]

#: Anything :func:`iter_records` accepts: a path, the file's bytes, or a binary file object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

HEAD_SIZE = 64 * 1024
#: Errors kept in a report (each is small; the rest are counted in ``errors_omitted``).
DEFAULT_MAX_ERRORS = 250_000
DEFAULT_BATCH_SIZE = 5000
#: Rows read ahead by the record-by-record API.
RECORDS_BATCH_SIZE = 1000
#: Longest CSV field read (Python's csv default is 131,072 characters); the web passes its
#: upload limit (MAX_CONTENT_LENGTH), which this default matches.
MAX_FIELD_CHARS = 200 * 1024 * 1024
MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_WEEKLY_HOURS = 80.0
MAX_COUNT = 10_000
#: Longest text kept for each text field (matches the database columns).
MAX_LENGTHS = {"case_ref": 64, "caseworker": 20, "caseworker_name": 200, "team": 120}
#: Longest value accepted in a mapped column that is not text (dates, numbers, Ja/Nej, scheme).
MAX_OTHER_CHARS = 100
MAX_VALUE_CHARS = 40
#: What replaces a CPR-like number in texts that are shown or kept (e.g. a file name).
CPR_REMOVED = "[cpr fjernet]"

# --- Danish messages --------------------------------------------------------------------------
# Reasons are made and kept in Danish (reports, --json, CLI); the web shows them in the UI
# language through tilsyn.cases.messages, which holds a translation of every template here.

MSG_REQUIRED = "Mangler værdi i påkrævet kolonne"
MSG_DATE = "Ugyldig dato (forventet dd-mm-åååå)"
MSG_YEAR = f"Usandsynligt årstal (forventet mellem {MIN_YEAR} og {MAX_YEAR})"
MSG_INT = "Ikke et helt tal"
MSG_NEGATIVE = "Må ikke være negativ"
MSG_TOO_BIG = f"Urealistisk stort tal (højst {MAX_COUNT})"
MSG_DECIMAL = "Ikke et gyldigt tal (forventet fx 8,5)"
MSG_HOURS = "Ugentlige timer skal være mellem 0 og 80"
MSG_BOOL = "Ugyldig ja/nej-værdi (forventet Ja eller Nej)"
MSG_SCHEME = "Ukendt ordning"
MSG_TOO_LONG = "Værdien er for lang (højst {n} tegn)"
MSG_DUPLICATE = "Sags-ID findes allerede i række {row}"
MSG_CPR = "Ligner et CPR-nummer – filen afvises"
MSG_CPR_SHEET_NAME = MSG_CPR + " (arkets navn)"
MSG_FIELD_COUNT = "Forkert antal felter i rækken (forventet {expected}, fandt {found})"
MSG_EMPTY = "Filen er tom"
MSG_MISSING_COLUMN = "Påkrævet kolonne mangler: {header} ({label})"
MSG_CONFLICT = "Flere kolonner svarer til {label}: {headers}"
MSG_KIND = "Filtypen {ext} understøttes ikke – gem filen som .csv eller .xlsx"
MSG_XLS = "Gammelt Excel-format (.xls) understøttes ikke – gem filen som .xlsx eller .csv"
MSG_BAD_XLSX = "Filen kunne ikke læses som Excel-fil (.xlsx)"
MSG_BAD_XLSX_AFTER_ROW = MSG_BAD_XLSX + " (efter række {row})"
MSG_BAD_XLSX_SHEET = MSG_BAD_XLSX + " ({sheet})"
MSG_NO_SHEET = "Excel-filen indeholder intet regneark"
MSG_DECODE = (
    "Filen kunne ikke læses med tegnsættet {encoding} (efter række {row}) – "
    "gem filen som UTF-8 eller Windows-1252"
)
MSG_CSV = (
    "Filen kunne ikke læses som CSV efter række {row} "
    "(et meget langt felt – mangler der et afsluttende anførselstegn?)"
)
MSG_CONTROL = "Værdien indeholder ugyldige kontroltegn"
MSG_MORE_ERRORS = "Yderligere {n} fejl er ikke vist"
UNKNOWN_EXTENSION = "(ukendt)"
#: How errors name a column without a header, a sheet, and a cell on another sheet.
COLUMN_NUMBER = "Kolonne {num}"
SHEET_NUMBER = "Ark {num}"
SHEET_LABEL = "Ark {num} «{title}»"
SHEET_COLUMN = "{sheet}, kolonne {column}"


# --- Public data types ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file.

    ``row`` is the file's row number (header = 1; 0 for file-level problems), ``column`` the
    file's header text (None when the problem is not tied to one column), ``reason`` a Danish
    message, ``value`` the offending value when it is safe to show (never a CPR-like value,
    at most 40 characters).
    """

    row: int
    column: str | None
    reason: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One valid case row, with the canonical fields only."""

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


@dataclass
class ParseReport:
    """What happened while parsing; filled in by :func:`iter_records` as it goes.

    ``missing_required`` holds canonical field names (see ``mapping.FIELD_LABELS``);
    ``rows_read`` counts non-blank data rows (valid or not); ``errors_omitted`` counts errors
    beyond ``max_errors`` that were counted but not stored.
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

    @property
    def ok(self) -> bool:
        return not self.errors


# --- CPR detection ----------------------------------------------------------------------------

#: Six digits (ddmmyy), optional hyphen, four digits, not part of a longer digit run.
CPR_PATTERN = re.compile(r"(?<![0-9])([0-9]{2})([0-9]{2})[0-9]{2}-?[0-9]{4}(?![0-9])")

_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Fast screening for whole rows: map every ASCII digit to "0", "-" to itself and every other
# byte to "x" (bytes.translate runs in C), then look for the two CPR shapes as substrings. Only
# rows that pass are searched with the regular expression (several times faster than running
# the pattern over every row).
_SCREEN_TABLE = bytes(
    0x30 if 0x30 <= i <= 0x39 else 0x2D if i == 0x2D else 0x78 for i in range(256)
)


def _is_cpr_match(match: re.Match[str]) -> bool:
    day, month = int(match.group(1)), int(match.group(2))
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]


def looks_like_cpr(text: str) -> bool:
    """True if the text contains a token shaped like a CPR number with a valid day and month.

    Any two-digit year is accepted and 29 February always counts (the century is unknown).
    """
    return any(_is_cpr_match(match) for match in CPR_PATTERN.finditer(text))


def _screen_cpr(text: str) -> bool:
    """:func:`looks_like_cpr` behind a C-speed pre-screen (most texts have no 10-digit run)."""
    screened = text.encode("utf-8", "surrogatepass").translate(_SCREEN_TABLE)
    if b"0000000000" not in screened and b"000000-0000" not in screened:
        return False
    return looks_like_cpr(text)


def scrub_cpr(text: str, replacement: str = CPR_REMOVED) -> str:
    """The text with every CPR-like token (as :func:`looks_like_cpr` sees them) replaced."""
    return CPR_PATTERN.sub(
        lambda match: replacement if _is_cpr_match(match) else match.group(0), text
    )


def _cpr_text(value: object) -> str | None:
    """The text to screen for CPR numbers in a cell (numbers as Excel would show them)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value) or abs(value) >= 1e11:
            return None
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A CPR number typed into a numeric Excel cell loses its leading zero.
        return text.zfill(10) if len(text) == 9 else text
    return None


def _safe_value(value: object) -> str | None:
    """The value as it may be shown in an error: never CPR-shaped, at most 40 characters."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        text = value.strftime("%d-%m-%Y")
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        text = str(int(value))
    elif isinstance(value, float) and math.isfinite(value):
        text = f"{value:.12g}".replace(".", ",")  # as a Danish reader writes it: 2,5
    else:
        text = str(value).strip()
    if not text:
        return None
    if CPR_PATTERN.search(text) or CPR_PATTERN.search(text.replace(" ", "")):
        return None
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


# --- Value converters -------------------------------------------------------------------------


class _Bad:
    """A conversion failure carrying its Danish reason (returned, not raised, for speed)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


#: Every failure value, one per reason (all are made here, at import time).
_BADS: dict[str, _Bad] = {}


def _bad(reason: str) -> _Bad:
    return _BADS.setdefault(reason, _Bad(reason))


_BAD_DATE = _bad(MSG_DATE)
_BAD_YEAR = _bad(MSG_YEAR)
_BAD_INT = _bad(MSG_INT)
_BAD_NEGATIVE = _bad(MSG_NEGATIVE)
_BAD_TOO_BIG = _bad(MSG_TOO_BIG)
_BAD_DECIMAL = _bad(MSG_DECIMAL)
_BAD_HOURS = _bad(MSG_HOURS)
_BAD_BOOL = _bad(MSG_BOOL)
_BAD_SCHEME = _bad(MSG_SCHEME)
_BAD_CONTROL = _bad(MSG_CONTROL)
_TOO_LONG = {n: _bad(MSG_TOO_LONG.format(n=n)) for n in {*MAX_LENGTHS.values(), MAX_OTHER_CHARS}}


def _too_long(limit: int) -> _Bad:
    return _TOO_LONG[limit]


#: Control characters that must not reach the database (NUL, DEL and other C0/C1 codes).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\x9f]")

_DMY_RE = re.compile(r"([0-9]{1,2})([-./])([0-9]{1,2})\2([0-9]{4})(?:[ T][0-9:.]+)?")
_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.]+)?")
_INT_RE = re.compile(r"([0-9]+)(?:[.,]0*)?")
_DECIMAL_RE = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
_NEGATIVE_RE = re.compile(r"-\s*[0-9]+(?:[.,][0-9]+)?")
_BOOLS = {
    "ja": True,
    "j": True,
    "1": True,
    "sand": True,
    "true": True,
    "yes": True,
    "y": True,
    "nej": False,
    "n": False,
    "0": False,
    "falsk": False,
    "false": False,
    "no": False,
}
_EXCEL_EPOCH_1900 = date(1899, 12, 30)
_EXCEL_EPOCH_1904 = date(1904, 1, 1)

_Value = Any  # a converted value or a _Bad


def _checked_date(year: int, month: int, day: int) -> date | _Bad:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return _BAD_YEAR
    try:
        return date(year, month, day)
    except ValueError:
        return _BAD_DATE


def _date_from_text(text: str) -> date | _Bad:
    match = _DMY_RE.fullmatch(text)
    if match:
        return _checked_date(int(match.group(4)), int(match.group(3)), int(match.group(1)))
    match = _ISO_RE.fullmatch(text)
    if match:
        return _checked_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return _BAD_DATE


def _date_from_serial(serial: float, epoch: date) -> date | _Bad:
    if not math.isfinite(serial) or not 0 < serial < 200_000:
        return _BAD_DATE
    result = epoch + timedelta(days=int(serial))
    return _checked_date(result.year, result.month, result.day)


def _int_from_text(text: str) -> int | _Bad:
    if text.isdigit() and text.isascii():
        value = int(text)
    else:
        match = _INT_RE.fullmatch(text)
        if match is None:
            return _BAD_NEGATIVE if _NEGATIVE_RE.fullmatch(text) else _BAD_INT
        value = int(match.group(1))
    return value if value <= MAX_COUNT else _BAD_TOO_BIG


def _decimal_from_text(text: str) -> float | _Bad:
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        return _BAD_NEGATIVE if _NEGATIVE_RE.fullmatch(text) else _BAD_DECIMAL
    whole, frac = match.groups()
    value = float(f"{whole}.{frac}" if frac else whole)
    return value if value <= MAX_WEEKLY_HOURS else _BAD_HOURS


class _Converters:
    """Per-parse value converters (the caches live per column, see :class:`_Column`)."""

    def __init__(self, excel_epoch: date = _EXCEL_EPOCH_1900) -> None:
        self.excel_epoch = excel_epoch

    # Each converter gets a non-blank value: a stripped str (CSV and text cells) or a typed
    # XLSX cell value (int, float, bool, datetime, ...).

    def date(self, value: object) -> _Value:
        if isinstance(value, str):
            return _date_from_text(value)
        if isinstance(value, datetime):
            return _checked_date(value.year, value.month, value.day)
        if isinstance(value, date):
            return _checked_date(value.year, value.month, value.day)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _date_from_serial(float(value), self.excel_epoch)
        return _BAD_DATE

    @staticmethod
    def count(value: object) -> _Value:
        if isinstance(value, str):
            return _int_from_text(value)
        if isinstance(value, bool):
            return _BAD_INT
        if isinstance(value, int | float):
            if not math.isfinite(value) or value != int(value):
                return _BAD_INT
            if value < 0:
                return _BAD_NEGATIVE
            return int(value) if value <= MAX_COUNT else _BAD_TOO_BIG
        return _BAD_INT

    @staticmethod
    def hours(value: object) -> _Value:
        if isinstance(value, str):
            return _decimal_from_text(value)
        if isinstance(value, bool):
            return _BAD_DECIMAL
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return _BAD_DECIMAL
            if value < 0:
                return _BAD_NEGATIVE
            return float(value) if value <= MAX_WEEKLY_HOURS else _BAD_HOURS
        return _BAD_DECIMAL

    @staticmethod
    def flag(value: object) -> _Value:
        if isinstance(value, str):
            result = _BOOLS.get(value.lower())
            return _BAD_BOOL if result is None else result
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        return _BAD_BOOL

    @staticmethod
    def scheme(value: object) -> _Value:
        code = scheme_code(_cell_text(value))
        return _BAD_SCHEME if code is None else code

    @staticmethod
    def _text(value: object, limit: int) -> _Value:
        text = _cell_text(value)
        if len(text) > limit:
            return _too_long(limit)
        if not text.isprintable() and _CONTROL_RE.search(text):
            return _BAD_CONTROL
        return text

    def case_ref(self, value: object) -> _Value:
        return self._text(value, MAX_LENGTHS["case_ref"])

    def caseworker(self, value: object) -> _Value:
        result = self._text(value, MAX_LENGTHS["caseworker"])
        return result.upper() if isinstance(result, str) else result

    def caseworker_name(self, value: object) -> _Value:
        return self._text(value, MAX_LENGTHS["caseworker_name"])

    def team(self, value: object) -> _Value:
        return self._text(value, MAX_LENGTHS["team"])

    def for_field(self, name: str) -> Callable[[object], _Value]:
        return {
            "case_ref": self.case_ref,
            "caseworker": self.caseworker,
            "caseworker_name": self.caseworker_name,
            "team": self.team,
            "scheme": self.scheme,
            "start_date": self.date,
            "last_conversation": self.date,
            "conversations_12m": self.count,
            "reassessment_due": self.date,
            "caseworker_changes_12m": self.count,
            "job_goal": self.flag,
            "cv_on_jobnet": self.flag,
            "weekly_hours": self.hours,
        }[name]


def _cell_text(value: object) -> str:
    """A cell value as stripped, whitespace-folded text (numbers without a spurious .0)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        text = str(int(value))
    elif isinstance(value, datetime | date):
        text = value.strftime("%d-%m-%Y")
    else:
        text = str(value)
    return " ".join(text.split())


# --- Columns: precompiled converters with per-column caches ----------------------------------

#: CaseRecord fields after ``row``, in constructor order.
_RECORD_FIELDS = (
    "case_ref",
    "caseworker",
    "caseworker_name",
    "team",
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
assert set(_RECORD_FIELDS) == set(CANONICAL_FIELDS)

_REQUIRED = frozenset(("case_ref", "caseworker", "scheme", "start_date"))

#: A blank cell in a required column (blank optional cells become None).
_BLANK = _bad(MSG_REQUIRED)
#: Every failure value there is (all are interned): a batch is clean iff it holds none of them.
_ALL_BAD = frozenset(_BADS.values())
#: Distinct raw texts remembered per column (dates, schemes, names … repeat a lot).
_CACHE_PER_COLUMN = 20_000
#: ``"\n".join(case refs) + "\n"`` of a batch whose references need no cleaning: printable
#: ASCII, no leading, trailing or doubled spaces (the cleaned text is the raw text).
_PLAIN_LINES_RE = re.compile(r"(?:[!-~]+(?: [!-~]+)*\n)*")


class _ColumnCache(dict[str, Any]):
    """Raw cell text -> converted value (or a failure); misses are converted and remembered."""

    def __init__(self, column: _Column) -> None:
        super().__init__()
        self.column = column

    def __missing__(self, raw: str) -> Any:
        result = self.column.convert(raw)
        if len(self) < _CACHE_PER_COLUMN:
            self[raw] = result
        return result


class _Column:
    """One mapped column: where it is, what it is called, and how its cells are converted."""

    __slots__ = (
        "cache",
        "converter",
        "failed",
        "getter",
        "header",
        "index",
        "max_raw",
        "name",
        "required",
    )

    def __init__(
        self, name: str, index: int, header: str, converter: Callable[[object], _Value]
    ) -> None:
        self.name = name
        self.index = index
        self.getter = itemgetter(index)
        self.header = header
        self.converter = converter
        self.required = name in _REQUIRED
        # Text fields check their cleaned length themselves; other values are short.
        self.max_raw = None if name in MAX_LENGTHS else MAX_OTHER_CHARS
        self.cache: _ColumnCache | None = None if name == "case_ref" else _ColumnCache(self)
        #: Has any cell of this column failed yet? (Until then its batches need no check.)
        self.failed = False

    def convert(self, raw: object) -> _Value:
        """One cell: blank -> None (or the required-value failure), else the converter."""
        result = self._convert(raw)
        if result.__class__ is _Bad:
            self.failed = True
        return result

    def _convert(self, raw: object) -> _Value:
        if raw is None:
            return _BLANK if self.required else None
        if raw.__class__ is str:
            text = raw.strip()  # type: ignore[attr-defined]
            if not text:
                return _BLANK if self.required else None
            if self.max_raw is not None and len(text) > self.max_raw:
                return _too_long(self.max_raw)
            return self.converter(text)
        return self.converter(raw)

    def convert_texts(self, rows: Sequence[Sequence[str]]) -> Sequence[Any]:
        """This column of CSV rows (all text, all of full width), at C speed for texts seen
        before."""
        if self.cache is not None:
            return list(map(self.cache.__getitem__, map(self.getter, rows)))
        cells = list(map(self.getter, rows))
        if (
            max(map(len, cells)) <= MAX_LENGTHS["case_ref"]
            and _PLAIN_LINES_RE.fullmatch("\n".join(cells) + "\n") is not None
        ):
            return cells  # case references that are already clean
        return list(map(self.convert, cells))

    def convert_cells(self, cells: Sequence[object]) -> list[Any]:
        """A column of XLSX cells (typed values; only text is cached)."""
        cache, convert = self.cache, self.convert
        if cache is None:
            return list(map(convert, cells))
        return [cache[c] if c.__class__ is str else convert(c) for c in cells]  # type: ignore[index]


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
        columns = [self.column(name)[:count] for name in _RECORD_FIELDS]
        return [CaseRecord(*values) for values in zip(self.rows[:count], *columns, strict=True)]

    def refs(self) -> Iterator[tuple[str, int]]:
        """``(case reference, row)`` of every row with a usable case reference."""
        yield from zip(self.column("case_ref"), self.rows, strict=True)
        yield from self.invalid_refs


# --- Row processing shared by CSV and XLSX ----------------------------------------------------


def _is_blank(value: object) -> bool:
    return value is None or (value.__class__ is str and not value.strip())  # type: ignore[attr-defined]


class _RowProcessor:
    """Validates data rows against the matched header and turns them into record batches.

    A batch is first checked as a whole, column by column (C-speed cache lookups, one CPR
    screen over the batch's joined text). Only a batch that holds a problem of any kind (a
    failure value, a CPR-like number, a blank or wrongly sized row) is gone through row by
    row, which reports every problem with its row and column.
    """

    def __init__(
        self,
        headers: Sequence[str],
        fields: dict[str, int],
        report: ParseReport,
        converters: _Converters,
        max_errors: int | None,
        *,
        text_cells: bool,
    ) -> None:
        self.headers = [clean_header(h) for h in headers]
        self.width = len(headers)
        self.report = report
        self.max_errors = max_errors
        self.refused = False
        self.text_cells = text_cells
        self.columns = [
            _Column(name, fields[name], self.headers[fields[name]], converters.for_field(name))
            for name in _RECORD_FIELDS
            if name in fields
        ]
        report.case_ref_column = self.headers[fields["case_ref"]]

    # Errors ---------------------------------------------------------------------------

    def error(self, row: int, column: str | None, reason: str, value: object = None) -> None:
        report = self.report
        if self.max_errors is not None and len(report.errors) >= self.max_errors:
            report.errors_omitted += 1
            return
        report.errors.append(RowError(row, column, reason, _safe_value(value)))

    def column_name(self, index: int) -> str:
        """The header of a column for messages (never a CPR-like header)."""
        header = self.headers[index] if index < len(self.headers) else ""
        if not header or looks_like_cpr(header):
            return COLUMN_NUMBER.format(num=index + 1)
        return header

    def check_cpr(self, row: int, cells: Sequence[object]) -> bool:
        """Report every CPR-like cell in the row; True if any was found."""
        found = False
        for index, value in enumerate(cells):
            text = _cpr_text(value)
            if text and _screen_cpr(text):
                found = True
                self.error(row, self.column_name(index), MSG_CPR)
        if found:
            self.refused = True
            self.report.cpr_found = True
        return found

    # Batches --------------------------------------------------------------------------

    def _joined(self, rows: Sequence[Sequence[object]]) -> str:
        """Every cell of the batch in one text (unit separators between cells)."""
        cells = chain.from_iterable(rows)
        if self.text_cells:
            return "\x1f".join(cells)  # type: ignore[arg-type]
        return "\x1f".join(filter(None, map(_cpr_text, cells)))

    def batch(
        self, rows: Sequence[Sequence[object]], numbers: Sequence[int], *, may_hold_cpr: bool = True
    ) -> RecordBatch:
        """Validate a list of data rows (XLSX: non-blank rows only) with their row numbers.

        ``may_hold_cpr`` False: the caller's screen of the raw text showed that no cell can
        hold a CPR number, so the cells need not be screened again.
        """
        if not rows:
            return RecordBatch([], {})
        width = self.width
        # CSV rows must all have the header's width (XLSX rows are not checked for width).
        clean = not self.text_cells or min(map(len, rows)) == width == max(map(len, rows))
        if clean and not (may_hold_cpr and _screen_cpr(self._joined(rows))):
            columns: dict[str, Sequence[Any]] = {}
            for column in self.columns:
                index = column.index
                if self.text_cells:
                    values = column.convert_texts(rows)  # type: ignore[arg-type]
                else:
                    raw = [cells[index] if index < len(cells) else None for cells in rows]
                    values = column.convert_cells(raw)
                if column.failed and not _ALL_BAD.isdisjoint(values):
                    break
                columns[column.name] = values
            else:
                self.report.rows_read += len(rows)
                if self.refused:
                    return RecordBatch([], {}, list(zip(columns["case_ref"], numbers, strict=True)))
                return RecordBatch(numbers, columns)
        return self._row_by_row(rows, numbers)

    def _row_by_row(self, rows: Sequence[Sequence[object]], numbers: Sequence[int]) -> RecordBatch:
        valid: list[list[Any]] = []
        valid_rows: list[int] = []
        invalid_refs: list[tuple[str, int]] = []
        width, text_cells = self.width, self.text_cells
        for cells, row in zip(rows, numbers, strict=True):
            if text_cells and not "\x1f".join(cells).strip("\x1f \t\r\n\xa0"):  # type: ignore[arg-type]
                continue  # blank line or separators only
            self.report.rows_read += 1
            self.check_cpr(row, cells)
            length = len(cells)
            if (
                text_cells
                and length != width
                and (length < width or any(not _is_blank(c) for c in cells[width:]))
            ):
                self.error(row, None, MSG_FIELD_COUNT.format(expected=width, found=length))
                continue
            values: list[Any] = []
            ok = True
            for column in self.columns:
                raw = cells[column.index] if column.index < length else None
                if column.cache is not None and raw.__class__ is str:
                    result = column.cache[raw]  # type: ignore[index]
                else:
                    result = column.convert(raw)
                if result.__class__ is _Bad:
                    ok = False
                    if result is _BLANK:
                        self.error(row, column.header, MSG_REQUIRED)
                    else:
                        self.error(row, column.header, result.reason, raw)
                values.append(result)
            if ok and not self.refused:
                valid.append(values)
                valid_rows.append(row)
            elif values[0].__class__ is str:
                invalid_refs.append((values[0], row))
        transposed = list(zip(*valid, strict=True)) if valid else [()] * len(self.columns)
        columns: dict[str, Sequence[Any]] = {
            column.name: values for column, values in zip(self.columns, transposed, strict=True)
        }
        return RecordBatch(valid_rows, columns, invalid_refs)


# --- Source handling --------------------------------------------------------------------------


class _PrefixedReader(io.RawIOBase):
    """Serves ``head`` and then the rest of ``stream``; closing it leaves ``stream`` open."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(target), len(self._head))
            target[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(target))
        if not data:
            return 0
        n = len(data)
        target[:n] = data
        return n


def _read_head(stream: IO[bytes], size: int = HEAD_SIZE) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("iter_records needs a binary file object (opened with 'rb')")
        chunks.append(bytes(chunk))
        remaining -= len(chunk)
    return b"".join(chunks)


def _extension(filename: str | None) -> str:
    if not filename:
        return ""
    return os.path.splitext(filename)[1].lower()


_CSV_EXTENSIONS = {".csv", ".txt", ".tsv", ""}
_XLSX_EXTENSIONS = {".xlsx", ".xlsm"}


def _detect_kind(head: bytes, filename: str | None) -> tuple[str | None, str | None]:
    """('csv' | 'xlsx' | None, error message or None)."""
    ext = _extension(filename)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return None, MSG_XLS
    if ext in _XLSX_EXTENSIONS:
        return None, MSG_BAD_XLSX
    if ext == ".xls":
        return None, MSG_XLS
    if ext not in _CSV_EXTENSIONS or head.startswith(b"%PDF"):
        return None, MSG_KIND.format(ext=ext or UNKNOWN_EXTENSION)
    return "csv", None


def _rest_is_utf8(stream: IO[bytes], decoder: codecs.IncrementalDecoder) -> bool:
    """Scan the rest of a seekable stream for UTF-8 validity, then seek back."""
    position = stream.tell()
    try:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                decoder.decode(b"", final=True)
                return True
            decoder.decode(chunk)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(position)


def _detect_encoding(head: bytes, stream: IO[bytes], complete: bool) -> str:
    """BOM -> utf-8-sig (or utf-16); valid UTF-8 -> utf-8; otherwise cp1252.

    ``complete``: the head is the whole file. When the head is pure ASCII and the stream is
    seekable, the rest is scanned too, so a Windows-1252 file whose first special character
    comes late is still recognised.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"  # the codec drops the BOM itself
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return "cp1252"
    ascii_so_far = head.isascii() and not complete and _seekable(stream)
    if ascii_so_far and not _rest_is_utf8(stream, decoder):
        return "cp1252"
    return "utf-8"


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _sniff_delimiter(line: str) -> str:
    """Pick ``;``, ``,`` or tab by counting occurrences outside quotes; Danish default ``;``."""
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda c: (counts[c], c == ";"))
    return best if counts[best] else ";"


def _delimiter_for(head: bytes, encoding: str) -> str:
    """Sniff the delimiter from the first few non-blank lines (title lines may come first):
    the line with the most separators decides."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    lines = [line for line in decoder.decode(head, final=False).splitlines() if line.strip()]
    best, best_count = ";", 0
    for line in lines[:HEADER_SEARCH_ROWS]:
        delimiter = _sniff_delimiter(line)
        count = line.count(delimiter)
        if count > best_count:
            best, best_count = delimiter, count
    return best


# --- CSV --------------------------------------------------------------------------------------

#: Characters of text read at a time for the raw CPR screen.
_SCREEN_CHUNK = 8192


def _raw_may_hold_cpr(text: str) -> bool:
    """Could any CSV cell parsed from this raw text hold a CPR-shaped token?

    A cell's characters are the raw characters minus quote characters (doubled quotes and
    quote toggles, even malformed ones), so with quotes deleted every CPR-shaped token of a
    cell is a substring of the raw text. The test is a necessary condition only.
    """
    screened = text.encode("utf-8", "surrogatepass").translate(_SCREEN_TABLE, b'"')
    return b"0000000000" in screened or b"000000-0000" in screened


class _ScreenedLines:
    """The decoded lines for :func:`csv.reader`, screened chunk by chunk at C speed.

    ``suspect(first, last)`` tells whether file lines ``first..last`` came from a chunk that
    may hold a CPR number; only such rows are screened cell by cell.
    """

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.lines_read = 0
        self.suspects: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self._chunks())  # line by line at C speed

    def _chunks(self) -> Iterator[list[str]]:
        readlines = self.text.readlines
        while lines := readlines(_SCREEN_CHUNK):
            first = self.lines_read + 1
            self.lines_read += len(lines)
            if _raw_may_hold_cpr("".join(lines)):
                self.suspects.append((first, self.lines_read))
            yield lines

    def suspect(self, first: int, last: int) -> bool:
        while self.suspects and self.suspects[0][1] < first:
            self.suspects.pop(0)
        return any(start <= last and first <= end for start, end in self.suspects)


def _line_breaks(cells: Sequence[str]) -> int:
    """Line breaks inside the fields of one row (a quoted field may span lines)."""
    count = 0
    for cell in cells:
        if "\n" in cell or "\r" in cell:
            count += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return count


def _row_numbers(rows: Sequence[Sequence[str]], first: int) -> list[int]:
    """File row numbers of consecutive rows, the first starting on line ``first``."""
    numbers = []
    line = first
    for cells in rows:
        numbers.append(line)
        line += 1 + _line_breaks(cells)
    return numbers


def _iter_csv(
    head: bytes,
    stream: IO[bytes],
    complete: bool,
    mapping: ColumnMapping,
    report: ParseReport,
    max_errors: int | None,
    batch_size: int,
    max_field_chars: int,
) -> Generator[RecordBatch, None, None]:
    encoding = _detect_encoding(head, stream, complete)
    report.encoding = encoding
    delimiter = _delimiter_for(head, encoding)
    report.delimiter = delimiter
    if csv.field_size_limit() < max_field_chars:
        # The limit is process-wide; it is only ever raised (to the upload size limit).
        csv.field_size_limit(max_field_chars)

    text = io.TextIOWrapper(
        io.BufferedReader(_PrefixedReader(head, stream), 1 << 16),
        encoding=encoding,
        errors="strict",
        newline="",
    )
    with text:
        lines = _ScreenedLines(text)
        reader = csv.reader(iter(lines), delimiter=delimiter, quotechar='"', strict=False)
        last_line = 0  # the file line the previous row ended on
        processor: _RowProcessor | None = None
        search = _HeaderSearch(mapping, report, max_errors, _Converters(), text_cells=True)
        try:
            for cells in reader:
                row = last_line + 1
                last_line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                processor = search.offer(row, cells)
                if search.stopped:
                    return
                if processor is not None:
                    break
        except UnicodeDecodeError:
            _file_error(report, MSG_DECODE.format(encoding=encoding, row=last_line))
            return
        except csv.Error:
            _file_error(report, MSG_CSV.format(row=last_line))
            return
        if processor is None:
            search.finish()
            return

        failure: str | None = None
        while failure is None:
            rows: list[list[str]] = []
            try:
                rows.extend(islice(reader, batch_size))  # keeps the rows read before a failure
            except UnicodeDecodeError:
                failure = MSG_DECODE
            except csv.Error:
                failure = MSG_CSV
            if not rows and failure is None:
                break
            if failure is None and reader.line_num - last_line == len(rows):
                numbers: Sequence[int] = range(last_line + 1, reader.line_num + 1)
            else:
                numbers = _row_numbers(rows, last_line + 1)
            end = (numbers[-1] + _line_breaks(rows[-1])) if rows else last_line
            suspect = bool(rows) and lines.suspect(last_line + 1, end)
            last_line = reader.line_num if failure is None else end
            yield processor.batch(rows, numbers, may_hold_cpr=suspect)
        if failure is not None:
            _file_error(report, failure.format(encoding=encoding, row=last_line))


#: How many non-blank rows are searched for the header (title rows may precede it).
HEADER_SEARCH_ROWS = 10


class _HeaderSearch:
    """Finds the header row: the first of the first few non-blank rows that has every
    required column. If none has, the missing columns of the best candidate are reported.

    Candidate rows are screened for CPR numbers too; their columns are named by position
    (``Kolonne 3``) because a header text could itself be the sensitive value.
    """

    def __init__(
        self,
        mapping: ColumnMapping,
        report: ParseReport,
        max_errors: int | None,
        converters: _Converters,
        *,
        text_cells: bool,
    ) -> None:
        self.mapping = mapping
        self.report = report
        self.max_errors = max_errors
        self.converters = converters
        self.text_cells = text_cells
        self.seen = 0
        self.best: tuple[int, int, list[str], HeaderMatch] | None = None
        self.stopped = False

    def offer(self, row: int, cells: Sequence[object]) -> _RowProcessor | None:
        """Consider a non-blank row; returns the processor once the header is found.

        ``stopped`` is set when header problems were reported (parsing must end).
        """
        for index, value in enumerate(cells):
            text = _cpr_text(value)
            if text and looks_like_cpr(text):
                self.report.cpr_found = True
                _add_error(
                    self.report, self.max_errors, row, COLUMN_NUMBER.format(num=index + 1), MSG_CPR
                )
        texts = ["" if h is None else _cell_text(h) for h in cells]
        match = self.mapping.match(texts)
        self.seen += 1
        if not match.missing:
            return self._start(row, texts, match)
        if self.best is None or len(match.missing) < self.best[0]:
            self.best = (len(match.missing), row, texts, match)
        if self.seen >= HEADER_SEARCH_ROWS:
            self.finish()
        return None

    def finish(self) -> None:
        """No (more) candidates: report the best candidate's problems, or an empty file."""
        if self.stopped:
            return
        self.stopped = True
        if self.best is None:
            _add_error(self.report, self.max_errors, 0, None, MSG_EMPTY)
            return
        _, row, texts, match = self.best
        self._start(row, texts, match)

    def _start(self, row: int, texts: list[str], match: HeaderMatch) -> _RowProcessor | None:
        report, mapping = self.report, self.mapping
        report.ignored_columns = [h for h in match.ignored if not looks_like_cpr(h)]
        report.missing_required = list(match.missing)
        for name in match.missing:
            header = mapping.header_for(name)
            reason = MSG_MISSING_COLUMN.format(header=header, label=FIELD_LABELS[name])
            _add_error(report, self.max_errors, row, header, reason)
        for name, found in match.conflicts:
            reason = MSG_CONFLICT.format(label=FIELD_LABELS[name], headers=", ".join(found))
            _add_error(report, self.max_errors, row, found[0], reason)
        if match.missing or match.conflicts:
            self.stopped = True
            return None
        processor = _RowProcessor(
            texts,
            match.fields,
            report,
            self.converters,
            self.max_errors,
            text_cells=self.text_cells,
        )
        processor.refused = report.cpr_found
        return processor


def _add_error(
    report: ParseReport, max_errors: int | None, row: int, column: str | None, reason: str
) -> None:
    if max_errors is not None and len(report.errors) >= max_errors:
        report.errors_omitted += 1
    else:
        report.errors.append(RowError(row, column, reason, None))


def _file_error(report: ParseReport, reason: str, row: int = 0) -> None:
    report.errors.append(RowError(row, None, reason, None))


# --- XLSX -------------------------------------------------------------------------------------

_XLSX_CHUNK = 2000


def _iter_xlsx(
    stream: IO[bytes],
    mapping: ColumnMapping,
    report: ParseReport,
    max_errors: int | None,
    batch_size: int,
) -> Generator[RecordBatch, None, None]:
    from openpyxl import load_workbook  # imported lazily: only XLSX imports need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl/zipfile/XML errors on arbitrary content
        _file_error(report, MSG_BAD_XLSX)
        return
    try:
        yield from _iter_workbook(workbook, mapping, report, max_errors, batch_size)
    finally:
        workbook.close()


def _sheet_label(index: int, title: object) -> str:
    """How an error names a sheet: its number and title (a CPR-like title is scrubbed)."""
    return SHEET_LABEL.format(num=index + 1, title=scrub_cpr(str(title or "")))


def _screen_other_sheets(
    workbook: Any, main: Any, report: ParseReport, max_errors: int | None
) -> bool:
    """Screen every cell of every sheet but ``main`` (and every sheet title) for CPR numbers.

    Errors name the sheet, row and column; never the value. False if a sheet could not be read.
    """
    for index, sheet in enumerate(workbook.worksheets):
        if _screen_cpr(str(sheet.title or "")):
            report.cpr_found = True
            _add_error(
                report, max_errors, 0, SHEET_NUMBER.format(num=index + 1), MSG_CPR_SHEET_NAME
            )
        if sheet is main or not hasattr(sheet, "reset_dimensions"):
            continue
        label = _sheet_label(index, sheet.title)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sheet.reset_dimensions()
                for row, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                    texts = [_cpr_text(c) for c in cells]
                    if not _screen_cpr("\x1f".join(filter(None, texts))):
                        continue
                    for column, text in enumerate(texts, start=1):
                        if text and _screen_cpr(text):
                            report.cpr_found = True
                            _add_error(
                                report,
                                max_errors,
                                row,
                                SHEET_COLUMN.format(sheet=label, column=column),
                                MSG_CPR,
                            )
        except Exception:
            _file_error(report, MSG_BAD_XLSX_SHEET.format(sheet=label))
            return False
    return True


def _iter_workbook(
    workbook: Any,
    mapping: ColumnMapping,
    report: ParseReport,
    max_errors: int | None,
    batch_size: int,
) -> Iterator[RecordBatch]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheets = workbook.worksheets
            sheet = workbook.active if workbook.active in sheets else sheets[0] if sheets else None
            if sheet is None or not hasattr(sheet, "reset_dimensions"):
                _file_error(report, MSG_NO_SHEET)
                return
            epoch = _EXCEL_EPOCH_1904 if workbook.epoch.year == 1904 else _EXCEL_EPOCH_1900
    except Exception:
        _file_error(report, MSG_BAD_XLSX)
        return
    # "Anything that looks like a CPR number in any cell" refuses the file: the other sheets
    # are screened first, so a refused workbook yields no records at all.
    if not _screen_other_sheets(workbook, sheet, report, max_errors):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheet.reset_dimensions()  # exporters often write a wrong <dimension>
            rows = sheet.iter_rows(values_only=True)
    except Exception:
        _file_error(report, MSG_BAD_XLSX)
        return

    processor: _RowProcessor | None = None
    search = _HeaderSearch(mapping, report, max_errors, _Converters(epoch), text_cells=False)
    row = 0
    pending: list[Sequence[object]] = []
    numbers: list[int] = []
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chunk = [cells for _, cells in zip(range(_XLSX_CHUNK), rows, strict=False)]
        except Exception:
            if processor is not None and pending:
                yield processor.batch(pending, numbers)
            _file_error(report, MSG_BAD_XLSX_AFTER_ROW.format(row=row))
            return
        if not chunk:
            break
        for cells in chunk:
            row += 1
            if all(map(_is_blank, cells)):
                continue
            if processor is None:
                processor = search.offer(row, cells)
                if search.stopped:
                    return
                continue
            pending.append(cells)
            numbers.append(row)
            if len(pending) >= batch_size:
                yield processor.batch(pending, numbers)
                pending, numbers = [], []
    if processor is None:
        search.finish()
    elif pending:
        yield processor.batch(pending, numbers)


# --- Public API -------------------------------------------------------------------------------


def _resolve_mapping(mapping: ColumnMapping | str | None) -> ColumnMapping:
    if mapping is None:
        return load_mapping(DEFAULT_MAPPING)
    if isinstance(mapping, str):
        return load_mapping(mapping)
    return mapping


def iter_columns(
    source: Source,
    mapping: ColumnMapping | str | None = None,
    *,
    filename: str | None = None,
    report: ParseReport,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    max_field_chars: int = MAX_FIELD_CHARS,
) -> Generator[RecordBatch, None, None]:
    """Stream the valid rows of a CSV or XLSX export as :class:`RecordBatch` objects.

    ``source`` is a path, the file's bytes, or a binary file object (left open). ``filename``
    (e.g. the uploaded name) decides the kind by extension; without it the content decides
    (a zip archive is XLSX, anything else CSV). ``mapping`` is a :class:`ColumnMapping`, a
    mapping name, or None for the default. Problems go to ``report.errors`` (at most
    ``max_errors``, None: no limit; the rest are counted in ``report.errors_omitted``). Once a
    CPR-like value is seen no further valid rows are yielded. Each batch covers up to
    ``batch_size`` data rows of the file. Duplicate case references are not detected here
    (that needs every reference at once): the caller does it, e.g. in the database.
    ``max_field_chars`` bounds one CSV field (Python's default is 131,072 characters).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    column_mapping = _resolve_mapping(mapping)
    with ExitStack() as stack:
        stream: IO[bytes]
        if isinstance(source, str | os.PathLike):
            stream = stack.enter_context(open(source, "rb"))
            filename = filename or os.path.basename(os.fspath(source))
        elif isinstance(source, bytes | bytearray | memoryview):
            stream = stack.enter_context(io.BytesIO(bytes(source)))
        else:
            stream = source
            if filename is None and isinstance(getattr(source, "name", None), str):
                filename = os.path.basename(source.name)
        seekable = _seekable(stream)
        start = stream.tell() if seekable else 0
        head = _read_head(stream)
        complete = len(head) < HEAD_SIZE
        kind, problem = _detect_kind(head, filename)
        report.file_kind = kind
        if problem is not None:
            _file_error(report, problem)
            return
        batches: Generator[RecordBatch, None, None]
        if kind == "xlsx":
            report.encoding = ""
            report.delimiter = None
            if seekable:
                stream.seek(start)
                xlsx_stream = stream
            else:
                spool = stack.enter_context(tempfile.TemporaryFile())
                spool.write(head)
                while chunk := stream.read(1 << 20):
                    spool.write(chunk)
                spool.seek(0)
                xlsx_stream = spool
            batches = _iter_xlsx(xlsx_stream, column_mapping, report, max_errors, batch_size)
        else:
            batches = _iter_csv(
                head,
                stream,
                complete,
                column_mapping,
                report,
                max_errors,
                batch_size,
                max_field_chars,
            )
        try:
            yield from batches
        finally:
            batches.close()


def _with_duplicates(
    batches: Iterator[RecordBatch], report: ParseReport, max_errors: int | None
) -> Iterator[CaseRecord]:
    """Records of small files, with duplicate case references reported in memory.

    For the convenience API only (tests, small files): the import service finds duplicates in
    the database instead, so that its memory does not grow with the file.
    """
    first_rows: dict[str, int] = {}
    for batch in batches:
        duplicates: set[int] = set()
        for ref, row in sorted(batch.refs(), key=lambda pair: pair[1]):
            first = first_rows.setdefault(ref, row)
            if first != row:
                duplicates.add(row)
                reason = MSG_DUPLICATE.format(row=first)
                if max_errors is not None and len(report.errors) >= max_errors:
                    report.errors_omitted += 1
                else:
                    report.errors.append(
                        RowError(row, report.case_ref_column, reason, _safe_value(ref))
                    )
        if duplicates:
            report.errors.sort(key=lambda e: e.row)
        for record in batch.records():
            if record.row not in duplicates:
                yield record


def iter_records(
    source: Source,
    mapping: ColumnMapping | str | None = None,
    *,
    filename: str | None = None,
    report: ParseReport,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> Iterator[CaseRecord]:
    """Stream the valid records of a CSV or XLSX export; problems go to ``report.errors``.

    Like :func:`iter_columns`, record by record, and duplicate case references are reported
    too (this keeps the references seen in memory: meant for tests and small files). Errors
    beyond ``max_errors`` are summarised in one final error.
    """
    batches = iter_columns(
        source,
        mapping,
        filename=filename,
        report=report,
        batch_size=RECORDS_BATCH_SIZE,
        max_errors=max_errors,
    )
    try:
        yield from _with_duplicates(batches, report, max_errors)
    finally:
        batches.close()
        if report.errors_omitted:
            report.errors.append(RowError(0, None, MSG_MORE_ERRORS.format(n=report.errors_omitted)))


def iter_batches(
    source: Source,
    mapping: ColumnMapping | str | None = None,
    *,
    filename: str | None = None,
    report: ParseReport,
    batch_size: int = 5000,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> Iterator[list[CaseRecord]]:
    """Like :func:`iter_records`, in lists of up to ``batch_size`` records."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    batch: list[CaseRecord] = []
    for record in iter_records(
        source, mapping, filename=filename, report=report, max_errors=max_errors
    ):
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_all(
    source: Source,
    mapping: ColumnMapping | str | None = None,
    *,
    filename: str | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> tuple[list[CaseRecord], ParseReport]:
    """Parse a whole (small) file: all valid records and the report."""
    report = ParseReport()
    records = list(
        iter_records(source, mapping, filename=filename, report=report, max_errors=max_errors)
    )
    return records, report
