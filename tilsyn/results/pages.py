"""What the results pages show, assembled from the cached figures (no logic in templates).

Units appear in a fixed order (the organisation first, then units by name), never ranked. A
team leader sees the organisation's figures and those of their own units; the director,
auditor and administrator every unit. No page here shows case-level data.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.results import charts
from tilsyn.results.data import period_sort_key
from tilsyn.results.estimates import CONTROL_POINT, THEME, Options, ResultRow
from tilsyn.results.services import (
    Filters,
    Series,
    UnitProgress,
    known_periods,
    last_periods,
    period_rows,
    round_progress_by_unit,
    series_for,
)

SPARK_PERIODS = 8


def visible(rows: list[ResultRow], unit_ids: Collection[int] | None) -> list[ResultRow]:
    """The organisation's rows and those of ``unit_ids`` (None: every unit)."""
    return [r for r in rows if r.unit_id is None or unit_ids is None or r.unit_id in unit_ids]


def label_of(r: ResultRow | Series) -> str:
    kind = _("Tema") if r.level == THEME else _("Kontrolpunkt")
    return f"{kind} {r.code}"


def unit_label(unit: str | None) -> str:
    return unit if unit is not None else _("Hele organisationen")


def _line(s: Series, label: str) -> charts.Line:
    pts = s.points
    return charts.Line(
        label=label,
        periods=tuple(r.period for r in pts),
        estimate=tuple(r.estimate.estimate for r in pts),
        low=tuple(r.estimate.ci_low for r in pts),
        high=tuple(r.estimate.ci_high for r in pts),
        few=tuple(r.few for r in pts),
        flagged=tuple(r.change is not None and r.change.flagged for r in pts),
    )


def series_svg(group: list[Series]) -> str:
    first = group[0]
    title = _("%(what)s over perioder", what=label_of(first))
    desc = _(
        "Andel i orden (design-vægtet) med 95 %%-konfidensinterval som bånd, pr. periode, "
        "for %(who)s. Markerede ændringer er vist med en ruder; tal på få sager er vist lyst. "
        "Tallene står i tabellen under grafen.",
        who=", ".join(unit_label(s.unit) for s in group),
    )
    return charts.series_chart([_line(s, unit_label(s.unit)) for s in group], title, desc)


def dots_svg(rows: list[ResultRow], period: str) -> str:
    first = rows[0]
    title = _("%(what)s i %(period)s pr. enhed", what=label_of(first), period=period)
    desc = _(
        "Punkt og 95 %-konfidensinterval for hver enhed i fast rækkefølge (ikke rangeret). "
        "Tallene står i tabellen under grafen."
    )
    dots = [
        charts.Dot(
            unit_label(r.unit),
            r.estimate.estimate,
            r.estimate.ci_low,
            r.estimate.ci_high,
            r.few,
        )
        for r in rows
    ]
    return charts.dot_chart(dots, title, desc)


def filtered(rows: list[ResultRow], filters: Filters) -> list[ResultRow]:
    """Rows matching the unit, theme and control point filters (the organisation stays)."""
    return [
        r
        for r in rows
        if (filters.unit_id is None or r.unit_id in (None, filters.unit_id))
        and (not filters.theme or r.theme == filters.theme)
        and (not filters.code or r.code == filters.code)
    ]


def export_rows(
    session: Session,
    page: ResultsPage,
    filters: Filters,
    unit_ids: Collection[int] | None,
    opts: Options,
) -> list[ResultRow]:
    """The figures of every period of the page's range, filtered like its table."""
    by_period = period_rows(session, page.periods, opts)
    return [
        r for p in page.periods for r in filtered(visible(by_period.get(p, []), unit_ids), filters)
    ]


@dataclass
class ResultsPage:
    periods: list[str]
    all_periods: list[str]
    period: str | None
    selected: list[Series]
    chart: str | None
    dots: list[ResultRow]
    dot_chart: str | None
    table: list[ResultRow]
    flagged: list[ResultRow]
    themes: list[tuple[str, str]]
    codes: list[str]
    messages: list[str] = field(default_factory=list)


def results_page(
    session: Session,
    filters: Filters,
    unit_ids: Collection[int] | None,
    opts: Options,
    period: str | None = None,
) -> ResultsPage:
    """The /resultater page: the selected figure over the period range (organisation and the
    chosen unit), the units in one period, the table of that period and its flagged changes."""
    known = known_periods(session)
    periods = [
        p
        for p in known
        if (filters.first is None or period_sort_key(p) >= period_sort_key(filters.first))
        and (filters.last is None or period_sort_key(p) <= period_sort_key(filters.last))
    ]
    if not periods:
        return ResultsPage([], known, None, [], None, [], None, [], [], [], [])
    if period not in periods:
        period = periods[-1]
    by_period = period_rows(session, periods, opts)
    current = visible(by_period.get(period, []), unit_ids)
    themes = sorted({(r.theme, r.theme_name) for p in periods for r in by_period.get(p, [])})
    codes = sorted(
        {r.code for p in periods for r in by_period.get(p, []) if r.level == CONTROL_POINT}
    )
    # the selected figure: a control point, else a theme, else the first core theme
    if filters.code:
        level, code = CONTROL_POINT, filters.code
    elif filters.theme:
        level, code = THEME, filters.theme
    else:
        core = [r for r in current if r.level == THEME and r.is_core and r.unit_id is None]
        level, code = THEME, (core[0].code if core else (themes[0][0] if themes else ""))
    wanted = Filters(unit_id=filters.unit_id, scheme=filters.scheme)
    group = [
        s
        for s in series_for(session, periods, wanted, opts)
        if s.level == level
        and s.code == code
        and (s.unit_id is None or (filters.unit_id is not None and s.unit_id == filters.unit_id))
        and (unit_ids is None or s.unit_id is None or s.unit_id in unit_ids)
    ]
    dots = [r for r in current if r.level == level and r.code == code]
    # the table: the organisation's figures, and the chosen unit's beside them
    table = [r for r in filtered(current, filters) if r.unit_id is None or filters.unit_id]
    flagged = [r for r in current if r.change is not None and r.change.flagged]
    flagged += [
        r
        for r in current
        if r.change_year is not None and r.change_year.flagged and r not in flagged
    ]
    return ResultsPage(
        periods=periods,
        all_periods=known,
        period=period,
        selected=group,
        chart=series_svg(group) if group else None,
        dots=dots,
        dot_chart=dots_svg(dots, period) if dots else None,
        table=table,
        flagged=flagged,
        themes=themes,
        codes=codes,
    )


@dataclass
class OverviewLine:
    row: ResultRow
    spark: str
    history: list[ResultRow]


@dataclass
class OverviewBlock:
    unit: str | None
    lines: list[OverviewLine]


@dataclass
class Overview:
    period: str | None
    periods: list[str]
    blocks: list[OverviewBlock]
    flagged: list[ResultRow]
    progress: list[UnitProgress]
    progress_period: str | None


def overview(session: Session, opts: Options, today: date | None = None) -> Overview:
    """The director's overview: the fixed core (core themes and their control points) at a
    glance for the organisation and each unit, with sparklines of the last periods, flagged
    changes of the latest finished period and review progress of the newest period (counts
    only)."""
    periods = last_periods(session, SPARK_PERIODS)
    if not periods:
        return Overview(None, [], [], [], [], None)
    by_period = period_rows(session, periods, opts)
    # the latest finished period (every sampled case reviewed) is the one reported, else the
    # latest with any completed review; a newer period still being reviewed shows as progress
    with_data = [p for p in periods if any(r.n > 0 for r in by_period.get(p, []))]
    finished = [
        p
        for p in with_data
        if not any(r.provisional for r in by_period.get(p, []) if r.unit_id is None)
    ]
    latest = finished[-1] if finished else (with_data[-1] if with_data else periods[-1])
    shown = [p for p in periods if period_sort_key(p) <= period_sort_key(latest)]
    history: dict[Any, list[ResultRow]] = {}
    for p in shown:
        for r in by_period.get(p, []):
            history.setdefault(r.ident, []).append(r)
    blocks: dict[str | None, OverviewBlock] = {}
    for r in by_period.get(latest, []):
        if not r.is_core:
            continue
        hist = history.get(r.ident, [])
        values = [_value_at(hist, p) for p in shown]
        block = blocks.setdefault(r.unit, OverviewBlock(r.unit, []))
        spark = charts.sparkline(
            values,
            _(
                "%(what)s, %(who)s: de seneste %(n)s perioder",
                what=label_of(r),
                who=unit_label(r.unit),
                n=len(shown),
            ),
        )
        block.lines.append(OverviewLine(r, spark, hist))
    flagged = [
        r
        for r in by_period.get(latest, [])
        if (r.change is not None and r.change.flagged)
        or (r.change_year is not None and r.change_year.flagged)
    ]
    newest = periods[-1]
    return Overview(
        period=latest,
        periods=shown,
        blocks=list(blocks.values()),
        flagged=flagged,
        progress=round_progress_by_unit(session, newest),
        progress_period=newest,
    )


def _value_at(hist: list[ResultRow], period: str) -> float:
    for r in hist:
        if r.period == period:
            return r.estimate.estimate
    return math.nan
