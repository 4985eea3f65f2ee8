"""Review quality and follow-up beside the results: census shares of data-answered control
points, calibration agreement per round and follow-up action counts per team.

Everything here is aggregates (counts and shares); no names, no case references.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.feedback.figures import TeamCounts, team_counts
from tilsyn.quality import calibration
from tilsyn.quality.census import _PopulationCache, round_census_cells
from tilsyn.results.data import PeriodData
from tilsyn.results.estimates import CONTROL_POINT, ResultRow
from tilsyn.rounds.models import Round
from tilsyn.stats.agreement import cohen_kappa, percent_agreement


def attach_census(
    session: Session,
    rows: Iterable[ResultRow],
    round_ids: Sequence[int],
    data: PeriodData,
    scheme: str | None,
) -> None:
    """Set ``census_share`` on the control point rows whose series carries a data rule in
    ``round_ids``: in order / answered by the rule, summed over the rounds' populations within
    the row's unit (all units for the organisation) and ``scheme`` (if given)."""
    cache = _PopulationCache(session)
    #: series id -> [cells of each round × version]
    by_series: dict[int, list[dict[tuple[int, str], tuple[int, int]]]] = {}
    rounds = session.scalars(select(Round).where(Round.id.in_(list(round_ids)))).all()
    for rnd in sorted(rounds, key=lambda r: r.id):
        for cp_id, cells in round_census_cells(session, rnd, _cache=cache).items():
            info = data.points.get(cp_id)
            if info is not None:
                by_series.setdefault(info.series_id, []).append(cells)
    for r in rows:
        if r.level != CONTROL_POINT or r.key not in by_series:
            continue
        in_order = answered = 0
        for cells in by_series[r.key]:
            for (unit_id, case_scheme), (good, total) in cells.items():
                if r.unit_id is not None and unit_id != r.unit_id:
                    continue
                if scheme is not None and case_scheme != scheme:
                    continue
                in_order += good
                answered += total
        r.census_share = in_order / answered if answered else None


@dataclass(frozen=True)
class RoundAgreement:
    """Agreement between the first and the blind second review over one round's pairs."""

    plan: str
    period: str
    pairs: int
    percent: float
    kappa: float
    kappa_low: float
    kappa_high: float


def calibration_lines(session: Session, round_ids: Sequence[int]) -> list[RoundAgreement]:
    """Per round of ``round_ids`` where calibration ran (has complete pairs): percent agreement
    and Cohen's κ with its interval over all the round's answer pairs."""
    out = []
    rounds = session.scalars(
        select(Round).where(Round.id.in_(list(round_ids))).order_by(Round.period_start, Round.id)
    ).all()
    for rnd in rounds:
        pairs = calibration.pairs(session, [rnd.id])
        if not pairs:
            continue
        a = [f"{p.control_point.id}:{p.first_option_id}" for p in pairs]
        b = [f"{p.control_point.id}:{p.second_option_id}" for p in pairs]
        categories = sorted(
            {f"{p.control_point.id}:{o.id}" for p in pairs for o in p.control_point.scale.options}
        )
        percent = percent_agreement(a, b)
        kappa = cohen_kappa(a, b, categories=categories)
        out.append(
            RoundAgreement(
                plan=rnd.plan.name,
                period=rnd.period_label,
                pairs=len(pairs),
                percent=percent.estimate,
                kappa=kappa.estimate,
                kappa_low=kappa.ci_low,
                kappa_high=kappa.ci_high,
            )
        )
    return out


def period_bounds(session: Session, round_ids: Sequence[int]) -> tuple[date, date] | None:
    """First start and last end of the rounds' periods (None without rounds)."""
    if not round_ids:
        return None
    start, end = session.execute(
        select(func.min(Round.period_start), func.max(Round.period_end)).where(
            Round.id.in_(list(round_ids))
        )
    ).one()
    if start is None or end is None:
        return None
    return start, end


def followup_counts(
    session: Session,
    actor: User,
    round_ids: Sequence[int],
    today: date,
    unit: str | None = None,
) -> list[TeamCounts]:
    """Follow-up actions per team (open, overdue today, closed within the rounds' periods);
    only ``unit`` if given. Empty without rounds."""
    bounds = period_bounds(session, round_ids)
    if bounds is None:
        return []
    rows = team_counts(session, actor, bounds[0], bounds[1], today)
    return [r for r in rows if unit is None or r.unit == unit]
