"""Cell values: the converters from a cell (CSV text or a typed XLSX value) to a field's value.

A converter returns the value, or a :class:`Bad` carrying the error's code and parameters
(returned, not raised, for speed; every failure value is made once, at import time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from tilsyn.schemes import scheme_code

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


class Bad:
    """A conversion failure: the error's code and parameters (see ``importing.errors``)."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, params: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.params = dict(params or {})


#: Every failure value there is (all are made here, at import time).
_BADS: list[Bad] = []


def _bad(code: str, **params: Any) -> Bad:
    bad = Bad(code, params)
    _BADS.append(bad)
    return bad


_BAD_DATE = _bad("date")
_BAD_YEAR = _bad("year", low=MIN_YEAR, high=MAX_YEAR)
_BAD_INT = _bad("int")
_BAD_NEGATIVE = _bad("negative")
_BAD_TOO_BIG = _bad("too_big", max=MAX_COUNT)
_BAD_DECIMAL = _bad("decimal")
_BAD_HOURS = _bad("hours")
_BAD_BOOL = _bad("bool")
_BAD_SCHEME = _bad("scheme")
_BAD_CONTROL = _bad("control")
_TOO_LONG = {n: _bad("too_long", n=n) for n in {*MAX_LENGTHS.values(), MAX_OTHER_CHARS}}
#: A blank cell in a required column (blank optional cells become None).
BLANK = _bad("required")
#: Every failure value: a batch is clean iff it holds none of them.
ALL_BAD = frozenset(_BADS)


def too_long(limit: int) -> Bad:
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
EXCEL_EPOCH_1900 = date(1899, 12, 30)
EXCEL_EPOCH_1904 = date(1904, 1, 1)

Value = Any  # a converted value or a Bad


def _checked_date(year: int, month: int, day: int) -> date | Bad:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return _BAD_YEAR
    try:
        return date(year, month, day)
    except ValueError:
        return _BAD_DATE


def _date_from_text(text: str) -> date | Bad:
    match = _DMY_RE.fullmatch(text)
    if match:
        return _checked_date(int(match.group(4)), int(match.group(3)), int(match.group(1)))
    match = _ISO_RE.fullmatch(text)
    if match:
        return _checked_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return _BAD_DATE


def _date_from_serial(serial: float, epoch: date) -> date | Bad:
    if not math.isfinite(serial) or not 0 < serial < 200_000:
        return _BAD_DATE
    result = epoch + timedelta(days=int(serial))
    return _checked_date(result.year, result.month, result.day)


def _int_from_text(text: str) -> int | Bad:
    if text.isdigit() and text.isascii():
        value = int(text)
    else:
        match = _INT_RE.fullmatch(text)
        if match is None:
            return _BAD_NEGATIVE if _NEGATIVE_RE.fullmatch(text) else _BAD_INT
        value = int(match.group(1))
    return value if value <= MAX_COUNT else _BAD_TOO_BIG


def _decimal_from_text(text: str) -> float | Bad:
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        return _BAD_NEGATIVE if _NEGATIVE_RE.fullmatch(text) else _BAD_DECIMAL
    whole, frac = match.groups()
    value = float(f"{whole}.{frac}" if frac else whole)
    return value if value <= MAX_WEEKLY_HOURS else _BAD_HOURS


def _number(
    value: object,
    from_text: Callable[[str], Value],
    bad: Bad,
    limit: float,
    too_big: Bad,
    *,
    whole: bool,
) -> Value:
    """A count (``whole``) or a decimal from text or a typed cell: not negative, at most
    ``limit``."""
    if isinstance(value, str):
        return from_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return bad
    if whole and value != int(value):
        return bad
    if value < 0:
        return _BAD_NEGATIVE
    if value > limit:
        return too_big
    return int(value) if whole else float(value)


class Converters:
    """Per-parse value converters (the caches live per column, see :class:`_Column`)."""

    def __init__(self, excel_epoch: date = EXCEL_EPOCH_1900) -> None:
        self.excel_epoch = excel_epoch

    # Each converter gets a non-blank value: a stripped str (CSV and text cells) or a typed
    # XLSX cell value (int, float, bool, datetime, ...).

    def date(self, value: object) -> Value:
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
    def count(value: object) -> Value:
        return _number(value, _int_from_text, _BAD_INT, MAX_COUNT, _BAD_TOO_BIG, whole=True)

    @staticmethod
    def hours(value: object) -> Value:
        return _number(
            value, _decimal_from_text, _BAD_DECIMAL, MAX_WEEKLY_HOURS, _BAD_HOURS, whole=False
        )

    @staticmethod
    def flag(value: object) -> Value:
        if isinstance(value, str):
            result = _BOOLS.get(value.lower())
            return _BAD_BOOL if result is None else result
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        return _BAD_BOOL

    @staticmethod
    def scheme(value: object) -> Value:
        code = scheme_code(cell_text(value))
        return _BAD_SCHEME if code is None else code

    @staticmethod
    def _text(value: object, limit: int) -> Value:
        text = cell_text(value)
        if len(text) > limit:
            return too_long(limit)
        if not text.isprintable() and _CONTROL_RE.search(text):
            return _BAD_CONTROL
        return text

    def case_ref(self, value: object) -> Value:
        return self._text(value, MAX_LENGTHS["case_ref"])

    def caseworker(self, value: object) -> Value:
        result = self._text(value, MAX_LENGTHS["caseworker"])
        return result.upper() if isinstance(result, str) else result

    def caseworker_name(self, value: object) -> Value:
        return self._text(value, MAX_LENGTHS["caseworker_name"])

    def team(self, value: object) -> Value:
        return self._text(value, MAX_LENGTHS["team"])

    def for_field(self, name: str) -> Callable[[object], Value]:
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


def cell_text(value: object) -> str:
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
