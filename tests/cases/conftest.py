"""Helpers for the case-import tests: the example export and writers for CSV/XLSX variants.

The example export is written by the demo generator (``sample_export`` in tests/conftest.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pytest

STANDARD_HEADER = [
    "Sags-ID",
    "Sagsbehandler",
    "Sagsbehandler navn",
    "Team",
    "Ordning",
    "Sagsstart",
    "Seneste samtale",
    "Samtaler seneste 12 mdr",
    "Frist revurdering",
    "Sagsbehandlerskift 12 mdr",
    "Jobmål registreret",
    "Cv på Jobnet",
    "Ugentlige timer",
]

#: Column kinds of the standard layout, used when writing typed XLSX cells.
DATE_COLUMNS = {"Sagsstart", "Seneste samtale", "Frist revurdering"}
INT_COLUMNS = {"Samtaler seneste 12 mdr", "Sagsbehandlerskift 12 mdr"}
DECIMAL_COLUMNS = {"Ugentlige timer"}

Table = tuple[list[str], list[list[str]]]


def read_table(path: Path) -> Table:
    """(header, rows) of a ``;``-separated UTF-8 (BOM) CSV file."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        rows = [row for row in reader if row]
    return header, rows


def csv_text(
    header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ";", eol: str = "\r\n"
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def dmy(text: str) -> date:
    day, month, year = (int(p) for p in text.split("-"))
    return date(year, month, day)


def excel_serial(value: date) -> int:
    return (value - date(1899, 12, 30)).days


def typed_cell(header: str, text: str, dates_as: str = "date") -> object:
    """The value an Excel user would have in the cell: real dates and numbers."""
    if text == "":
        return None
    if header in DATE_COLUMNS:
        return dmy(text) if dates_as == "date" else excel_serial(dmy(text))
    if header in INT_COLUMNS:
        return int(text)
    if header in DECIMAL_COLUMNS:
        return float(text.replace(",", "."))
    return text


@pytest.fixture(scope="session")
def sample_path(sample_export: Path) -> Path:
    return sample_export


@pytest.fixture(scope="session")
def sample_table(sample_path: Path) -> Table:
    return read_table(sample_path)


@pytest.fixture
def write_bytes(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """write_csv(header, rows, name=, encoding=, delimiter=, eol=) -> path in tmp_path."""

    def write(
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        name: str = "export.csv",
        encoding: str = "utf-8-sig",
        delimiter: str = ";",
        eol: str = "\r\n",
    ) -> Path:
        path = tmp_path / name
        path.write_bytes(csv_text(header, rows, delimiter, eol).encode(encoding))
        return path

    return write


@pytest.fixture
def write_xlsx(tmp_path: Path) -> Callable[..., Path]:
    """write_xlsx(header, rows, name=, dates_as='date'|'serial'|'text', leading=[]) -> path.

    Cells are typed like a real Excel sheet (dates, integers, decimals) unless
    ``dates_as='text'``, which keeps every cell as the CSV text. ``leading`` rows are written
    above the header (to test row numbering).
    """
    from openpyxl import Workbook

    def write(
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        name: str = "export.xlsx",
        dates_as: str = "date",
        leading: Sequence[Sequence[object]] = (),
    ) -> Path:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Sager")
        for extra in leading:
            sheet.append(list(extra))
        sheet.append(list(header))
        for row in rows:
            if dates_as == "text":
                sheet.append([value or None for value in row])
            else:
                sheet.append([typed_cell(h, v, dates_as) for h, v in zip(header, row, strict=True)])
        path = tmp_path / name
        workbook.save(path)
        return path

    return write
