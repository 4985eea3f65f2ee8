"""Sniffing a file: its kind (CSV or XLSX, by content and name), encoding and delimiter."""

from __future__ import annotations

import codecs
import io
import os
from typing import IO, Any

from tilsyn.cases.importing.errors import Text, text

#: Bytes read first to decide the kind, encoding and delimiter.
HEAD_SIZE = 64 * 1024
#: How many non-blank rows are searched for the header (title rows may precede it).
HEADER_SEARCH_ROWS = 10


class PrefixedReader(io.RawIOBase):
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


def read_head(stream: IO[bytes], size: int = HEAD_SIZE) -> bytes:
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


def detect_kind(head: bytes, filename: str | None) -> tuple[str | None, Text | None]:
    """('csv' | 'xlsx' | None, the problem or None)."""
    ext = _extension(filename)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return None, text("xls")
    if ext in _XLSX_EXTENSIONS:
        return None, text("bad_xlsx")
    if ext == ".xls":
        return None, text("xls")
    if ext not in _CSV_EXTENSIONS or head.startswith(b"%PDF"):
        return None, text("kind", ext=ext or text("unknown_extension"))
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


def detect_encoding(head: bytes, stream: IO[bytes], complete: bool) -> str:
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
    ascii_so_far = head.isascii() and not complete and seekable(stream)
    if ascii_so_far and not _rest_is_utf8(stream, decoder):
        return "cp1252"
    return "utf-8"


def seekable(stream: IO[bytes]) -> bool:
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


def delimiter_for(head: bytes, encoding: str) -> str:
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
