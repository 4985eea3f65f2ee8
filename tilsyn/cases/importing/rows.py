"""Validating data rows: mapped columns with precompiled converters, batch by batch.

A batch is validated column by column: each column has a converter with a cache of the distinct
texts it has seen (dates, schemes, counts, names repeat), so most cells cost one dictionary
lookup at C speed; the CPR screen runs once over the batch's joined text. Only a batch with a
problem in it is gone through row by row, which reports every problem with its row and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from tilsyn.cases.fields import REQUIRED_FIELDS
from tilsyn.cases.importing.cpr import cpr_text, looks_like_cpr, safe_value, screen_cpr
from tilsyn.cases.importing.errors import RowError, Text, text
from tilsyn.cases.importing.records import RECORD_FIELDS, ParseReport, RecordBatch
from tilsyn.cases.importing.values import (
    ALL_BAD,
    BLANK,
    MAX_LENGTHS,
    MAX_OTHER_CHARS,
    Bad,
    Converters,
    Value,
    too_long,
)
from tilsyn.cases.mapping import clean_header

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
        self, name: str, index: int, header: str, converter: Callable[[object], Value]
    ) -> None:
        self.name = name
        self.index = index
        self.getter = itemgetter(index)
        self.header = header
        self.converter = converter
        self.required = name in REQUIRED_FIELDS
        # Text fields check their cleaned length themselves; other values are short.
        self.max_raw = None if name in MAX_LENGTHS else MAX_OTHER_CHARS
        self.cache: _ColumnCache | None = None if name == "case_ref" else _ColumnCache(self)
        #: Has any cell of this column failed yet? (Until then its batches need no check.)
        self.failed = False

    def convert(self, raw: object) -> Value:
        """One cell: blank -> None (or the required-value failure), else the converter."""
        result = self._convert(raw)
        if result.__class__ is Bad:
            self.failed = True
        return result

    def _convert(self, raw: object) -> Value:
        if raw is None:
            return BLANK if self.required else None
        if raw.__class__ is str:
            text = raw.strip()  # type: ignore[attr-defined]
            if not text:
                return BLANK if self.required else None
            if self.max_raw is not None and len(text) > self.max_raw:
                return too_long(self.max_raw)
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


def is_blank(value: object) -> bool:
    return value is None or (value.__class__ is str and not value.strip())  # type: ignore[attr-defined]


class RowProcessor:
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
        converters: Converters,
        *,
        text_cells: bool,
    ) -> None:
        self.headers = [clean_header(h) for h in headers]
        self.width = len(headers)
        self.report = report
        self.refused = False
        self.text_cells = text_cells
        self.columns = [
            _Column(name, fields[name], self.headers[fields[name]], converters.for_field(name))
            for name in RECORD_FIELDS
            if name in fields
        ]
        report.case_ref_column = self.headers[fields["case_ref"]]

    # Errors ---------------------------------------------------------------------------

    def error(self, row: int, column: str | Text | None, bad: Bad, value: object = None) -> None:
        self.report.add(RowError(row, column, bad.code, bad.params, safe_value(value)))

    def column_name(self, index: int) -> str | Text:
        """The header of a column for messages (never a CPR-like header)."""
        header = self.headers[index] if index < len(self.headers) else ""
        if not header or looks_like_cpr(header):
            return text("column_number", num=index + 1)
        return header

    def check_cpr(self, row: int, cells: Sequence[object]) -> bool:
        """Report every CPR-like cell in the row; True if any was found."""
        found = False
        for index, value in enumerate(cells):
            cell = cpr_text(value)
            if cell and screen_cpr(cell):
                found = True
                self.report.error(row, self.column_name(index), "cpr")
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
        return "\x1f".join(filter(None, map(cpr_text, cells)))

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
        if clean and not (may_hold_cpr and screen_cpr(self._joined(rows))):
            columns: dict[str, Sequence[Any]] = {}
            for column in self.columns:
                index = column.index
                if self.text_cells:
                    values = column.convert_texts(rows)  # type: ignore[arg-type]
                else:
                    raw = [cells[index] if index < len(cells) else None for cells in rows]
                    values = column.convert_cells(raw)
                if column.failed and not ALL_BAD.isdisjoint(values):
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
                and (length < width or any(not is_blank(c) for c in cells[width:]))
            ):
                self.report.error(row, None, "field_count", expected=width, found=length)
                continue
            values: list[Any] = []
            ok = True
            for column in self.columns:
                raw = cells[column.index] if column.index < length else None
                if column.cache is not None and raw.__class__ is str:
                    result = column.cache[raw]  # type: ignore[index]
                else:
                    result = column.convert(raw)
                if result.__class__ is Bad:
                    ok = False
                    self.error(row, column.header, result, None if result is BLANK else raw)
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
