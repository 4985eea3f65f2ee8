"""CPR numbers: recognise them in any cell, screen whole rows fast, and keep them out of messages.

Any cell that looks like a CPR number (``ddmmyy-xxxx`` / ``ddmmyyxxxx`` with a valid day and
month) refuses the whole file; errors name row and column, never the value.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

#: What replaces a CPR-like number in texts that are shown or kept (e.g. a file name).
CPR_REMOVED = "[cpr fjernet]"
#: Longest value shown in an error.
MAX_VALUE_CHARS = 40

#: Six digits (ddmmyy), optional hyphen, four digits, not part of a longer digit run.
CPR_PATTERN = re.compile(r"(?<![0-9])([0-9]{2})([0-9]{2})[0-9]{2}-?[0-9]{4}(?![0-9])")

_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Fast screening for whole rows: map every ASCII digit to "0", "-" to itself and every other
# byte to "x" (bytes.translate runs in C), then look for the two CPR shapes as substrings. Only
# rows that pass are searched with the regular expression (several times faster than running
# the pattern over every row).
SCREEN_TABLE = bytes(0x30 if 0x30 <= i <= 0x39 else 0x2D if i == 0x2D else 0x78 for i in range(256))


def _is_cpr_match(match: re.Match[str]) -> bool:
    day, month = int(match.group(1)), int(match.group(2))
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]


def looks_like_cpr(text: str) -> bool:
    """True if the text contains a token shaped like a CPR number with a valid day and month.

    Any two-digit year is accepted and 29 February always counts (the century is unknown).
    """
    return any(_is_cpr_match(match) for match in CPR_PATTERN.finditer(text))


def screen_cpr(text: str) -> bool:
    """:func:`looks_like_cpr` behind a C-speed pre-screen (most texts have no 10-digit run)."""
    screened = text.encode("utf-8", "surrogatepass").translate(SCREEN_TABLE)
    if b"0000000000" not in screened and b"000000-0000" not in screened:
        return False
    return looks_like_cpr(text)


def scrub_cpr(text: str, replacement: str = CPR_REMOVED) -> str:
    """The text with every CPR-like token (as :func:`looks_like_cpr` sees them) replaced."""
    return CPR_PATTERN.sub(
        lambda match: replacement if _is_cpr_match(match) else match.group(0), text
    )


def cpr_text(value: object) -> str | None:
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


def safe_value(value: object) -> str | None:
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
