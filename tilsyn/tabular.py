"""The one writer for every CSV file tilsyn hands out (Danish Excel conventions, formula-safe).

Files are UTF-8 with a byte-order mark (so Excel reads æøå), ``;``-separated, CRLF line ends,
decimal comma. A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would be run as a formula by a spreadsheet (CSV injection); such a cell is written with a leading
``'`` (OWASP's advice), which Excel and LibreOffice show as the text itself. Numbers handed in as
numbers (``int``/``float``, negative ones too) are written as numbers, never neutralised; dates
as ``dd-mm-yyyy``; ``None`` as an empty cell; booleans as ``Ja``/``Nej``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

__all__ = ["CSV_MIMETYPE", "FORMULA_PREFIXES", "cell_text", "csv_bytes", "csv_lines", "safe_text"]

#: Media type of the bytes :func:`csv_bytes` makes.
CSV_MIMETYPE = "text/csv; charset=utf-8"
#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | date | None


def safe_text(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _number(value: float) -> str:
    """Full precision (round-trips exactly) with a Danish decimal comma."""
    return repr(float(value)).replace(".", ",")


def cell_text(value: Cell) -> str:
    """What one cell holds in the file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d-%m-%Y")
    return safe_text(str(value))


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The file as text, one line at a time (the first begins with the byte-order mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def line(cells: Sequence[Cell]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell_text(cell) for cell in cells])
        return buffer.getvalue()

    yield "\ufeff" + line(header)
    for row in rows:
        yield line(row)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The whole file as UTF-8 bytes (built before a response is returned)."""
    return "".join(csv_lines(header, rows)).encode("utf-8")
