"""Parsing and validation of case-system exports (CSV or XLSX) into :class:`CaseRecord` rows.

Pure code: no database. The import service (:mod:`.pipeline`) calls :func:`iter_columns`,
inserts the batches inside one transaction and rolls back when ``report.errors`` is non-empty
after the last batch; tests and small files use :func:`iter_records` or :func:`parse_all`.
Errors are codes with parameters (:mod:`.errors`), worded only when shown.

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

import io
import os
import tempfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from typing import IO

from tilsyn.cases.importing.cpr import safe_value
from tilsyn.cases.importing.csvfile import iter_csv
from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.records import (
    DEFAULT_MAX_ERRORS,
    CaseRecord,
    Limits,
    ParseReport,
    RecordBatch,
)
from tilsyn.cases.importing.sniff import HEAD_SIZE, detect_kind, read_head, seekable
from tilsyn.cases.importing.values import MAX_FIELD_CHARS
from tilsyn.cases.importing.xlsxfile import iter_xlsx
from tilsyn.cases.mapping import DEFAULT_MAPPING, ColumnMapping, load_mapping

#: Anything :func:`iter_records` accepts: a path, the file's bytes, or a binary file object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

DEFAULT_BATCH_SIZE = 5000
#: Rows read ahead by the record-by-record API.
RECORDS_BATCH_SIZE = 1000


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
    limits: Limits | None = None,
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
    ``max_field_chars`` bounds one CSV field (Python's default is 131,072 characters);
    ``limits`` the rows, columns and unpacked size of the file (a file beyond them is refused).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    column_mapping = _resolve_mapping(mapping)
    limits = limits or Limits()
    report.max_errors = max_errors
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
        can_seek = seekable(stream)
        start = stream.tell() if can_seek else 0
        head = read_head(stream)
        complete = len(head) < HEAD_SIZE
        kind, problem = detect_kind(head, filename)
        report.file_kind = kind
        if problem is not None:
            report.errors.append(RowError(0, None, problem.code, problem.params))
            return
        batches: Generator[RecordBatch, None, None]
        if kind == "xlsx":
            report.encoding = ""
            report.delimiter = None
            if can_seek:
                stream.seek(start)
                xlsx_stream = stream
            else:
                spool = stack.enter_context(tempfile.TemporaryFile())
                spool.write(head)
                while chunk := stream.read(1 << 20):
                    spool.write(chunk)
                spool.seek(0)
                xlsx_stream = spool
            batches = iter_xlsx(xlsx_stream, column_mapping, report, batch_size, limits)
        else:
            batches = iter_csv(
                head, stream, complete, column_mapping, report, batch_size, max_field_chars, limits
            )
        try:
            yield from batches
        finally:
            batches.close()


def _with_duplicates(batches: Iterator[RecordBatch], report: ParseReport) -> Iterator[CaseRecord]:
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
                column = report.case_ref_column
                report.add(RowError(row, column, "duplicate", {"row": first}, safe_value(ref)))
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
        yield from _with_duplicates(batches, report)
    finally:
        batches.close()
        if report.errors_omitted:
            report.errors.append(RowError(0, None, "more_errors", {"n": report.errors_omitted}))


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
