"""The printable report of a period (quarter, half-year or year) for the organisation or a unit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.results.data import is_completed, load, period_sort_key, rounds_of_periods
from tilsyn.results.estimates import CONTROL_POINT, THEME, Options, ResultRow
from tilsyn.results.excel import method_lines
from tilsyn.results.pages import series_svg
from tilsyn.results.services import Filters, last_periods, period_rows, series_for
from tilsyn.risk.models import RiskModelVersion
from tilsyn.rounds.models import Round
from tilsyn.sampling.models import Draw


@dataclass
class ReviewedRound:
    plan: str
    period: str
    themes: list[str]
    sampled: int
    completed: int


@dataclass
class ReportSection:
    theme: ResultRow
    points: list[ResultRow]
    chart: str | None


@dataclass
class Report:
    period: str
    unit: str | None
    rounds: list[ReviewedRound]
    sections: list[ReportSection]
    flagged: list[ResultRow]
    method: list[str]
    risk_versions: list[int]
    generated_by: str
    generated_at: datetime

    @property
    def sampled(self) -> int:
        return sum(r.sampled for r in self.rounds)

    @property
    def completed(self) -> int:
        return sum(r.completed for r in self.rounds)


def build_report(
    session: Session, period: str, unit_id: int | None, opts: Options, actor: Any
) -> Report:
    """Reviewed rounds, results per theme with charts over the last periods, flagged changes
    and the method. Only aggregates: no case-level data."""
    round_ids = rounds_of_periods(session, [period])
    data = load(session, round_ids, [period])
    unit = data.units.get(unit_id) if unit_id is not None else None
    by_round: dict[int, list[Any]] = defaultdict(list)
    for c in data.cases:
        if unit_id is None or c.unit_id == unit_id:
            by_round[c.round_id].append(c)
    rounds = []
    for rnd in session.scalars(
        select(Round).where(Round.id.in_(round_ids)).order_by(Round.period_start, Round.id)
    ):
        cases = by_round.get(rnd.id, [])
        if not cases:
            continue
        theme_ids = sorted(
            {data.points[cp].theme_id for cp, _core in data.round_points.get(rnd.id, [])}
        )
        rounds.append(
            ReviewedRound(
                plan=rnd.plan.name,
                period=rnd.period_label,
                themes=[data.themes[t][1] for t in theme_ids],
                sampled=len(cases),
                completed=sum(is_completed(c) for c in cases),
            )
        )
    rows = [r for r in period_rows(session, [period], opts).get(period, []) if r.unit_id == unit_id]
    history = [p for p in last_periods(session, 8, until=period)]
    series = {
        (s.level, s.code): s
        for s in series_for(session, history, Filters(unit_id=unit_id), opts)
        if s.unit_id == unit_id
    }
    sections = []
    for theme in (r for r in rows if r.level == THEME):
        points = [r for r in rows if r.level == CONTROL_POINT and r.theme == theme.theme]
        s = series.get((THEME, theme.code))
        chart = series_svg([s]) if s is not None and len(s.points) > 1 else None
        sections.append(ReportSection(theme, points, chart))
    sections.sort(key=lambda x: (not x.theme.is_core, x.theme.theme))
    versions = sorted(
        {
            int(v)
            for v in session.scalars(
                select(RiskModelVersion.number)
                .join(Draw, Draw.risk_model_version_id == RiskModelVersion.id)
                .join(Round, Round.draw_id == Draw.id)
                .where(Round.id.in_(round_ids))
            )
        }
    )
    return Report(
        period=period,
        unit=unit,
        rounds=rounds,
        sections=sections,
        flagged=[
            r
            for r in rows
            if (r.change is not None and r.change.flagged)
            or (r.change_year is not None and r.change_year.flagged)
        ],
        method=method_lines(opts)[1:],
        risk_versions=versions,
        generated_by=str(getattr(actor, "display_name", None) or getattr(actor, "username", "")),
        generated_at=datetime.now(),
    )


def sort_periods(labels: list[str]) -> list[str]:
    return sorted(labels, key=period_sort_key)
