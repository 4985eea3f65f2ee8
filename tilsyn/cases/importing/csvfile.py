"""Reading CSV exports: decoded and screened for CPR numbers chunk by chunk, read in batches.

Row numbers are the file's own: header = row 1, blank lines count, and a quoted field that
spans lines moves the following rows down.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator, Sequence
from itertools import chain, islice
from typing import IO

from tilsyn.cases.importing.cpr import SCREEN_TABLE
from tilsyn.cases.importing.headers import HeaderSearch
from tilsyn.cases.importing.records import Limits, ParseReport, RecordBatch
from tilsyn.cases.importing.rows import RowProcessor
from tilsyn.cases.importing.sniff import PrefixedReader, delimiter_for, detect_encoding
from tilsyn.cases.importing.values import Converters
from tilsyn.cases.mapping import ColumnMapping

#: Characters of text read at a time for the raw CPR screen.
_SCREEN_CHUNK = 8192


def _raw_may_hold_cpr(text: str) -> bool:
    """Could any CSV cell parsed from this raw text hold a CPR-shaped token?

    A cell's characters are the raw characters minus quote characters (doubled quotes and
    quote toggles, even malformed ones), so with quotes deleted every CPR-shaped token of a
    cell is a substring of the raw text. The test is a necessary condition only.
    """
    screened = text.encode("utf-8", "surrogatepass").translate(SCREEN_TABLE, b'"')
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


def iter_csv(
    head: bytes,
    stream: IO[bytes],
    complete: bool,
    mapping: ColumnMapping,
    report: ParseReport,
    batch_size: int,
    max_field_chars: int,
    limits: Limits,
) -> Generator[RecordBatch, None, None]:
    """The valid rows of a CSV file in batches (problems go to ``report``)."""
    encoding = detect_encoding(head, stream, complete)
    report.encoding = encoding
    delimiter = delimiter_for(head, encoding)
    report.delimiter = delimiter
    if csv.field_size_limit() < max_field_chars:
        # The limit is process-wide; it is only ever raised (to the upload size limit).
        csv.field_size_limit(max_field_chars)

    text = io.TextIOWrapper(
        io.BufferedReader(PrefixedReader(head, stream), 1 << 16),
        encoding=encoding,
        errors="strict",
        newline="",
    )
    with text:
        lines = _ScreenedLines(text)
        reader = csv.reader(iter(lines), delimiter=delimiter, quotechar='"', strict=False)
        last_line = 0  # the file line the previous row ended on
        processor: RowProcessor | None = None
        search = HeaderSearch(mapping, report, Converters(), text_cells=True)
        try:
            for cells in reader:
                row = last_line + 1
                last_line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if limits.refuse_width(report, row, len(cells)):
                    return
                processor = search.offer(row, cells)
                if search.stopped:
                    return
                if processor is not None:
                    break
        except UnicodeDecodeError:
            report.file_error("decode", encoding=encoding, row=last_line)
            return
        except csv.Error:
            report.file_error("csv", row=last_line)
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
                failure = "decode"
            except csv.Error:
                failure = "csv"
            if not rows and failure is None:
                break
            if failure is None and reader.line_num - last_line == len(rows):
                numbers: Sequence[int] = range(last_line + 1, reader.line_num + 1)
            else:
                numbers = _row_numbers(rows, last_line + 1)
            end = (numbers[-1] + _line_breaks(rows[-1])) if rows else last_line
            suspect = bool(rows) and lines.suspect(last_line + 1, end)
            last_line = reader.line_num if failure is None else end
            if limits.refuse_rows(report, report.rows_read + len(rows)):
                return
            widest = max(map(len, rows), default=0)
            if widest > limits.max_columns:
                wide = next(n for n, r in zip(numbers, rows, strict=True) if len(r) == widest)
                limits.refuse_width(report, wide, widest)
                return
            yield processor.batch(rows, numbers, may_hold_cpr=suspect)
        if failure is not None:
            report.file_error(failure, encoding=encoding, row=last_line)
