"""Reading XLSX exports with openpyxl in read-only mode (the active sheet holds the cases).

Every other sheet, and every sheet's title, is screened for CPR numbers first. A workbook that
would unpack to more than the limit is refused before any sheet is opened (a zip bomb).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Generator, Iterator, Sequence
from typing import IO, Any

from tilsyn.cases.importing.cpr import cpr_text, screen_cpr, scrub_cpr
from tilsyn.cases.importing.errors import Text, text
from tilsyn.cases.importing.headers import HeaderSearch
from tilsyn.cases.importing.records import Limits, ParseReport, RecordBatch
from tilsyn.cases.importing.rows import RowProcessor, is_blank
from tilsyn.cases.importing.values import EXCEL_EPOCH_1900, EXCEL_EPOCH_1904, Converters
from tilsyn.cases.mapping import ColumnMapping

_XLSX_CHUNK = 2000


def _unpacked_size(stream: IO[bytes]) -> int | None:
    """The bytes the zip archive declares it unpacks to (None if it is no zip archive)."""
    start = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        stream.seek(start)


def iter_xlsx(
    stream: IO[bytes],
    mapping: ColumnMapping,
    report: ParseReport,
    batch_size: int,
    limits: Limits,
) -> Generator[RecordBatch, None, None]:
    """The valid rows of an XLSX workbook (a seekable stream) in batches."""
    from openpyxl import load_workbook  # imported lazily: only XLSX imports need it

    unpacked = _unpacked_size(stream)
    if unpacked is not None and unpacked > limits.max_unpacked_bytes:
        report.file_error("too_large_unpacked", max=limits.max_unpacked_bytes // (1024 * 1024))
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl/zipfile/XML errors on arbitrary content
        report.file_error("bad_xlsx")
        return
    try:
        yield from _iter_workbook(workbook, mapping, report, batch_size, limits)
    finally:
        workbook.close()


def _sheet_label(index: int, title: object) -> Text:
    """How an error names a sheet: its number and title (a CPR-like title is scrubbed)."""
    return text("sheet_label", num=index + 1, title=scrub_cpr(str(title or "")))


def _screen_other_sheets(workbook: Any, main: Any, report: ParseReport) -> bool:
    """Screen every cell of every sheet but ``main`` (and every sheet title) for CPR numbers.

    Errors name the sheet, row and column; never the value. False if a sheet could not be read.
    """
    for index, sheet in enumerate(workbook.worksheets):
        if screen_cpr(str(sheet.title or "")):
            report.cpr_found = True
            report.error(0, text("sheet_number", num=index + 1), "cpr_sheet_name")
        if sheet is main or not hasattr(sheet, "reset_dimensions"):
            continue
        label = _sheet_label(index, sheet.title)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sheet.reset_dimensions()
                for row, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                    texts = [cpr_text(c) for c in cells]
                    if not screen_cpr("\x1f".join(filter(None, texts))):
                        continue
                    for column, cell in enumerate(texts, start=1):
                        if cell and screen_cpr(cell):
                            report.cpr_found = True
                            where = text("sheet_column", sheet=label, column=column)
                            report.error(row, where, "cpr")
        except Exception:
            report.file_error("bad_xlsx_sheet", sheet=label)
            return False
    return True


def _iter_workbook(
    workbook: Any,
    mapping: ColumnMapping,
    report: ParseReport,
    batch_size: int,
    limits: Limits,
) -> Iterator[RecordBatch]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheets = workbook.worksheets
            sheet = workbook.active if workbook.active in sheets else sheets[0] if sheets else None
            if sheet is None or not hasattr(sheet, "reset_dimensions"):
                report.file_error("no_sheet")
                return
            epoch = EXCEL_EPOCH_1904 if workbook.epoch.year == 1904 else EXCEL_EPOCH_1900
    except Exception:
        report.file_error("bad_xlsx")
        return
    # "Anything that looks like a CPR number in any cell" refuses the file: the other sheets
    # are screened first, so a refused workbook yields no records at all.
    if not _screen_other_sheets(workbook, sheet, report):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheet.reset_dimensions()  # exporters often write a wrong <dimension>
            rows = sheet.iter_rows(values_only=True)
    except Exception:
        report.file_error("bad_xlsx")
        return

    processor: RowProcessor | None = None
    search = HeaderSearch(mapping, report, Converters(epoch), text_cells=False)
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
            report.file_error("bad_xlsx_after_row", row=row)
            return
        if not chunk:
            break
        for cells in chunk:
            row += 1
            if all(map(is_blank, cells)):
                continue
            if len(cells) > limits.max_columns and _width(cells) > limits.max_columns:
                limits.refuse_width(report, row, _width(cells))
                return
            if processor is None:
                processor = search.offer(row, cells)
                if search.stopped:
                    return
                continue
            pending.append(cells)
            numbers.append(row)
            if len(pending) >= batch_size:
                if limits.refuse_rows(report, report.rows_read + len(pending)):
                    return
                yield processor.batch(pending, numbers)
                pending, numbers = [], []
    if processor is None:
        search.finish()
    elif pending and not limits.refuse_rows(report, report.rows_read + len(pending)):
        yield processor.batch(pending, numbers)


def _width(cells: Sequence[object]) -> int:
    """The number of cells up to the last non-blank one."""
    return next((i + 1 for i in range(len(cells) - 1, -1, -1) if not is_blank(cells[i])), 0)
