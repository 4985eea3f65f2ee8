"""Calendar periods of a plan's cadence: ``2026-K1`` (quarters), ``2026-H2``, ``2026``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from tilsyn.enums import LabelledEnum


class Cadence(LabelledEnum):
    """How often a plan has a round (the value is what is stored)."""

    QUARTERLY = "quarterly", _l("Kvartalsvis")
    HALF_YEARLY = "half-yearly", _l("Halvårlig")
    YEARLY = "yearly", _l("Årlig")


MONTHS_PER_PERIOD: dict[str, int] = {
    Cadence.QUARTERLY: 3,
    Cadence.HALF_YEARLY: 6,
    Cadence.YEARLY: 12,
}


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    label: str


def _label(cadence: str, year: int, index: int) -> str:
    if cadence == Cadence.QUARTERLY:
        return f"{year}-K{index + 1}"
    if cadence == Cadence.HALF_YEARLY:
        return f"{year}-H{index + 1}"
    return f"{year}"


def period_containing(cadence: str, day: date) -> Period:
    """The period of ``cadence`` that contains ``day``."""
    months = MONTHS_PER_PERIOD.get(cadence)
    if months is None:
        raise ValueError(f"Ukendt kadence: {cadence!r}")
    index = (day.month - 1) // months
    start = date(day.year, index * months + 1, 1)
    end_month = start.month + months
    end = (
        date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)
    ) - timedelta(days=1)
    return Period(start, end, _label(cadence, day.year, index))


def previous_period(cadence: str, period: Period) -> Period:
    return period_containing(cadence, period.start - timedelta(days=1))


def next_period(cadence: str, period: Period) -> Period:
    return period_containing(cadence, period.end + timedelta(days=1))


def period_by_label(cadence: str, label: str) -> Period | None:
    """Parse a label of ``cadence`` ("2026-K3", "2026-H1", "2026"); None if it is not one."""
    label = label.strip().upper()
    try:
        if cadence == Cadence.QUARTERLY and len(label) == 7 and label[4:6] == "-K":
            year, index = int(label[:4]), int(label[6]) - 1
            ok = 0 <= index < 4
        elif cadence == Cadence.HALF_YEARLY and len(label) == 7 and label[4:6] == "-H":
            year, index = int(label[:4]), int(label[6]) - 1
            ok = 0 <= index < 2
        elif cadence == Cadence.YEARLY and len(label) == 4:
            year, index, ok = int(label), 0, True
        else:
            return None
    except ValueError:
        return None
    if not ok or not 1900 < year < 3000:
        return None
    months = MONTHS_PER_PERIOD[cadence]
    return period_containing(cadence, date(year, index * months + 1, 1))
