"""Loading what the results are made of: the sampled cases of a period's rounds and their answers.

Everything is read with a handful of ``select()`` queries into plain rows (no ORM objects), so
the same rows feed the estimates (:mod:`tilsyn.results.estimates`), the CSV/JSON exports
(:mod:`tilsyn.results.exports`) and the pages. Only a round's *current* draw counts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tilsyn.cases.models import Case
from tilsyn.catalogue.models import ControlPoint, Theme
from tilsyn.org.models import Caseworker, Unit
from tilsyn.reviews.estimates import round_control_points, scored_scales, series_roots
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.rounds.models import Round, SupervisionPlan
from tilsyn.sampling.models import DrawItem

NOT_STARTED = "not_started"
_Ts = TypeVarTuple("_Ts")
_QUARTER = re.compile(r"^(\d{4})-K([1-4])$")
_HALF = re.compile(r"^(\d{4})-H([12])$")
_YEAR = re.compile(r"^(\d{4})$")


def valid_period(label: str) -> bool:
    """``2026-K4``, ``2026-H2`` or ``2026``."""
    return bool(_QUARTER.match(label) or _HALF.match(label) or _YEAR.match(label))


def shift_period(label: str, steps: int) -> str | None:
    """The period ``steps`` periods of the same kind after ``label`` (negative: before)."""
    for pattern, per_year, mark in ((_QUARTER, 4, "K"), (_HALF, 2, "H")):
        m = pattern.match(label)
        if m:
            index = int(m.group(1)) * per_year + int(m.group(2)) - 1 + steps
            return f"{index // per_year}-{mark}{index % per_year + 1}"
    m = _YEAR.match(label)
    if m:
        return str(int(m.group(1)) + steps)
    return None


def previous_period(label: str) -> str | None:
    return shift_period(label, -1)


def year_earlier(label: str) -> str | None:
    """The same period a year earlier (``2026-K4`` → ``2025-K4``)."""
    if _QUARTER.match(label):
        return shift_period(label, -4)
    if _HALF.match(label):
        return shift_period(label, -2)
    return shift_period(label, -1)


def period_sort_key(label: str) -> tuple[int, int, int]:
    """Chronological order: by year, then sub-period; a year sorts after its quarters."""
    m = _QUARTER.match(label)
    if m:
        return int(m.group(1)), 3 * (int(m.group(2)) - 1), 3
    m = _HALF.match(label)
    if m:
        return int(m.group(1)), 6 * (int(m.group(2)) - 1), 6
    m = _YEAR.match(label)
    return (int(m.group(1)), 12, 12) if m else (0, 0, 0)


@dataclass(frozen=True, slots=True)
class PointInfo:
    """One control point version asked in some round, with its series and theme."""

    id: int
    code: str
    version: int
    series_id: int
    series_code: str
    theme_id: int
    theme_code: str
    scored: bool


@dataclass(frozen=True, slots=True)
class SampledCase:
    """One sampled case of a round's current draw, with the state of its review."""

    round_id: int
    period: str
    plan: str
    draw_item_id: int
    case_ref: str
    caseworker: str
    unit_id: int | None
    scheme: str
    stratum: str
    pi: float
    status: str  # completed | draft | not_started


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: str | None
    score: float | None


@dataclass
class PeriodData:
    """The sampled cases of a set of rounds, the points they ask and the answers given."""

    cases: list[SampledCase] = field(default_factory=list)
    #: round id -> [(control point id, is_core)]
    round_points: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)
    points: dict[int, PointInfo] = field(default_factory=dict)
    #: (round id, draw item id) -> {control point id: answer}
    answers: dict[tuple[int, int], dict[int, Answer]] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    themes: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (code, name)

    def periods(self) -> list[str]:
        return sorted({c.period for c in self.cases}, key=period_sort_key)


def join_sampled_cases(query: Select[*_Ts]) -> Select[*_Ts]:
    """``query`` (over :class:`Round`) joined to the sampled cases of each round's current draw,
    their case and caseworker, and their review in that round if there is one (outer join)."""
    return (
        query.join(DrawItem, DrawItem.draw_id == Round.draw_id)
        .join(Case, DrawItem.case_id == Case.id)
        .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
        .outerjoin(
            CaseReview,
            (CaseReview.round_id == Round.id) & (CaseReview.draw_item_id == DrawItem.id),
        )
    )


#: The unit a sampled case counts under: the one recorded with the draw, else the case's, else
#: its caseworker's current unit (for queries joined by :func:`join_sampled_cases`).
SAMPLED_UNIT = func.coalesce(DrawItem.unit_id, Case.unit_id, Caseworker.unit_id)


def rounds_of_periods(session: Session, labels: Collection[str]) -> list[int]:
    """Ids of the rounds with a current draw whose period is one of ``labels``; a year label
    (``2026``) also takes the year's quarters and halves."""
    wanted = set(labels)
    rows = session.execute(
        select(Round.id, Round.period_label).where(Round.draw_id.is_not(None))
    ).all()
    out = []
    for rid, label in rows:
        if label in wanted or label[:4] in wanted:
            out.append(int(rid))
    return sorted(out)


def period_of_round(label: str, requested: Collection[str]) -> str:
    """The requested period a round's label belongs to (its own label, or its year)."""
    return label if label in requested else label[:4]


def load(
    session: Session, round_ids: Iterable[int], period_labels: Collection[str] | None = None
) -> PeriodData:
    """Sampled cases, round control points, points and answers of the given rounds.

    ``period_labels`` given: each case's ``period`` is the requested label its round belongs
    to (a year collects its quarters); else the round's own label.
    """
    ids = sorted(set(round_ids))
    data = PeriodData()
    data.units = {int(i): str(n) for i, n in session.execute(select(Unit.id, Unit.name))}
    data.themes = {
        int(i): (str(c), str(n))
        for i, c, n in session.execute(select(Theme.id, Theme.code, Theme.name))
    }
    if not ids:
        return data
    rows = session.execute(
        join_sampled_cases(
            select(
                Round.id,
                Round.period_label,
                SupervisionPlan.name,
                DrawItem.id,
                DrawItem.case_ref,
                Caseworker.initials,
                SAMPLED_UNIT,
                DrawItem.scheme,
                DrawItem.stratum,
                DrawItem.inclusion_probability,
                CaseReview.status,
            ).join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        )
        .where(Round.id.in_(ids))
        .order_by(Round.period_start, Round.id, DrawItem.order)
    ).all()
    wanted = set(period_labels) if period_labels is not None else None
    for r in rows:
        label = str(r[1]) if wanted is None else period_of_round(str(r[1]), wanted)
        data.cases.append(
            SampledCase(
                round_id=int(r[0]),
                period=label,
                plan=str(r[2]),
                draw_item_id=int(r[3]),
                case_ref=str(r[4]),
                caseworker=str(r[5]),
                unit_id=None if r[6] is None else int(r[6]),
                scheme=str(r[7]),
                stratum=str(r[8]),
                pi=float(r[9]),
                status=str(r[10]) if r[10] is not None else NOT_STARTED,
            )
        )
    roots = series_roots(session)
    scored = scored_scales(session)
    cp_rows = round_control_points(session, ids)
    codes = dict(session.execute(select(ControlPoint.id, ControlPoint.code)).all())
    for rid, is_core, cp_id, code, version, theme_id, scale_id in cp_rows:
        data.round_points.setdefault(int(rid), []).append((int(cp_id), bool(is_core)))
        if cp_id not in data.points:
            root = roots.get(cp_id, cp_id)
            data.points[int(cp_id)] = PointInfo(
                id=int(cp_id),
                code=str(code),
                version=int(version),
                series_id=int(root),
                series_code=str(codes.get(root, code)),
                theme_id=int(theme_id),
                theme_code=data.themes[int(theme_id)][0],
                scored=scale_id in scored,
            )
    for rid, item_id, cp_id, outcome, score in session.execute(
        select(
            CaseReview.round_id,
            CaseReview.draw_item_id,
            ReviewAnswer.control_point_id,
            ReviewAnswer.outcome,
            ReviewAnswer.score,
        )
        .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
        .where(CaseReview.round_id.in_(ids))
    ):
        data.answers.setdefault((int(rid), int(item_id)), {})[int(cp_id)] = Answer(
            outcome, None if score is None else float(score)
        )
    return data


def is_completed(case: SampledCase) -> bool:
    return case.status == ReviewStatus.COMPLETED
