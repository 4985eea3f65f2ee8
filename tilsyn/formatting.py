"""Danish number and date formatting for templates."""

from __future__ import annotations

import math
import numbers
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_date, format_datetime, format_decimal, format_percent
from flask_babel import gettext as _


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "dd-MM-yyyy HH:mm")
    return format_date(value, "dd-MM-yyyy")


#: Numbers this large (in absolute value) are shown in scientific notation, not as 300 digits.
HUGE = 1e15


def _finite(value: Any) -> float | None:
    """``value`` as a float if it is a number (not NaN), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _huge(number: float) -> str:
    if math.isinf(number):
        return "−∞" if number < 0 else "∞"
    return f"{number:.3g}".replace(".", ",").replace("-", "−")


def fmt_number(value: float | int | None, digits: int = 0) -> str:
    """A Danish number; "—" for anything that is not a number (a missing value, NaN), and
    scientific notation for stored values too large to print in full (e.g. 1e308, ∞)."""
    number = _finite(value)
    if number is None:
        return "—"
    if abs(number) >= HUGE:
        return _huge(number)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern)


def fmt_decimal(value: float, max_digits: int = 6) -> str:
    """``value`` with up to ``max_digits`` decimals, trailing zeros dropped, no grouping."""
    pattern = "0" + ("." + "#" * max_digits if max_digits else "")
    return format_decimal(value, format=pattern)


def fmt_percent(value: float | None, digits: int = 0) -> str:
    number = _finite(value)
    if number is None:
        return "—"
    if abs(number) >= HUGE:
        return _huge(number * 100) + " %"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + " %"
    return format_percent(value, format=pattern)


def fmt_bool(value: bool | None) -> str:
    if value is None:
        return "—"
    return _("Ja") if value else _("Nej")


FILTERS: dict[str, Any] = {
    "dkdate": fmt_date,
    "dknumber": fmt_number,
    "dkpercent": fmt_percent,
    "janej": fmt_bool,
}
