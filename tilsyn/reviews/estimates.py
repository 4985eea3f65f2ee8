"""Design-based estimates per round and control point series, and theme weakness for suggestions.

(Hájek) share of cases in order with :func:`tilsyn.stats.estimation.estimate_proportion`, and
for scored scales (1–3) the weighted mean score with ``estimate_mean``. The weights are
``1/π`` with π and the stratum of each case taken from the draw items.

* **Series.** Versions of a control point linked by ``comparable_to`` count as one series (the
  oldest version of the chain is the series id); a version without that link starts a new series.
* **Per round.** Each round is its own design (its own draw, strata and π), so estimates are
  made per round; a trend is a sequence of per-round estimates, compared with
  :func:`tilsyn.stats.estimation.compare`.
* **Domain.** Completed reviews whose answer to the series is in order or not in order. "Not
  applicable" answers, cases whose scheme the control point does not cover and cases outside an
  optional scheme/unit restriction are outside the domain but stay in the sample arrays, so every
  stratum keeps its full sample size (domain estimation).
* **Non-response rule.** A sampled case without a *completed* review (not started or a draft) is
  non-response, not a domain exclusion: the estimate is made on the completed reviews as the
  sample (their own π and strata, no reweighting for the missing ones), and it is flagged
  ``provisional`` whenever any sampled case of the round lacks a completed review. It then rests
  on the assumption that the missing reviews resemble completed ones with the same design weight.
  A round whose every sampled case is reviewed (a finished round) has no non-response, and its
  estimate uses the full sample of the draw.
* **Raw share.** ``raw_share`` is the unweighted share in order among the answered cases. It
  describes the risk-weighted *sample*, not all cases, and must only be shown labelled as such
  (:data:`RAW_SHARE_LABEL`)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.catalogue.models import ControlPoint, Outcome, ScaleOption
from tilsyn.org.models import Caseworker
from tilsyn.reviews.models import (
    CaseReview,
    ReviewAnswer,
    ReviewStatus,
)
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus
from tilsyn.sampling.models import DrawItem
from tilsyn.stats.estimation import Estimate, estimate_mean, estimate_proportion, stratum_codes

#: The only label under which :attr:`PointEstimate.raw_share` may be shown.
RAW_SHARE_LABEL = _l("Rå andel i stikprøven (ikke vægtet, overvurderer fejl)")


@dataclass(frozen=True)
class PointEstimate:
    """One control point series in one round, estimated for all cases of the round's population.

    ``share`` is the design-weighted (Hájek) share in order with its interval; ``mean`` the
    weighted mean score for scored (1–3) scales. ``raw_share`` is the *unweighted* share in the
    risk-weighted sample: show it only labelled as such (:data:`RAW_SHARE_LABEL`).
    """

    round_id: int
    series_id: int
    control_point_ids: tuple[int, ...]
    code: str
    version: int
    theme_id: int
    is_core: bool
    share: Estimate
    mean: Estimate | None
    raw_share: float
    answered: int
    in_order: int
    not_applicable: int
    sampled: int
    completed: int

    @property
    def provisional(self) -> bool:
        """True while sampled cases of the round lack a completed review (non-response)."""
        return self.completed < self.sampled


def series_roots(session: Session) -> dict[int, int]:
    """{control point id: id of the oldest version of its comparable chain}."""
    links: dict[int, int | None] = {
        int(cp_id): (None if prev is None else int(prev))
        for cp_id, prev in session.execute(select(ControlPoint.id, ControlPoint.comparable_to_id))
    }
    roots: dict[int, int] = {}
    for cp_id in links:
        seen = {cp_id}
        current = cp_id
        previous = links.get(current)
        while previous is not None and previous not in seen:
            current = previous
            seen.add(current)
            previous = links.get(current)
        roots[cp_id] = current
    return roots


def scored_scales(session: Session, scale_ids: Collection[int] | None = None) -> set[int]:
    """Ids of the scored (1–3) scales: at least one option other than "not applicable", and a
    score on every such option. ``scale_ids`` given: only among those scales."""
    query = select(ScaleOption.scale_id, ScaleOption.outcome, ScaleOption.score)
    if scale_ids is not None:
        if not scale_ids:
            return set()
        query = query.where(ScaleOption.scale_id.in_(scale_ids))
    by_scale: dict[int, list[tuple[str, float | None]]] = defaultdict(list)
    for scale_id, outcome, score in session.execute(query):
        by_scale[scale_id].append((outcome, score))
    return {
        s
        for s, opts in by_scale.items()
        if any(o != Outcome.NOT_APPLICABLE for o, _ in opts)
        and all(sc is not None for o, sc in opts if o != Outcome.NOT_APPLICABLE)
    }


@dataclass(frozen=True)
class Respondents:
    """The completed reviews of a round's current draw: the (responding) sample, by review id.

    Each of ``rows`` holds ``id`` (the review), ``case_id``, ``inclusion_probability``,
    ``stratum``, ``scheme`` and ``unit_id`` (the caseworker's current unit); ``position`` maps a
    review id to its row, and ``pi`` and ``strata`` are the design arrays of the rows for
    :mod:`tilsyn.stats.estimation`.
    """

    round_id: int
    rows: Sequence[Any]
    position: Mapping[int, int]
    pi: npt.NDArray[np.float64]
    strata: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.rows)


def round_respondents(session: Session, rnd: Round) -> Respondents:
    """The completed reviews of ``rnd``'s current draw (see :class:`Respondents`)."""
    rows = session.execute(
        select(
            CaseReview.id,
            DrawItem.case_id,
            DrawItem.inclusion_probability,
            DrawItem.stratum,
            DrawItem.scheme,
            Caseworker.unit_id,
        )
        .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
        .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
        .where(
            CaseReview.round_id == rnd.id,
            CaseReview.status == ReviewStatus.COMPLETED,
            DrawItem.draw_id == rnd.draw_id,
        )
        .order_by(CaseReview.id)
    ).all()
    return Respondents(
        round_id=rnd.id,
        rows=rows,
        position={int(r.id): i for i, r in enumerate(rows)},
        pi=np.array([float(r.inclusion_probability) for r in rows], dtype=np.float64),
        strata=stratum_codes(np.array([str(r.stratum) for r in rows], dtype=object)),
    )


def respondent_answers(
    session: Session,
    respondents: Respondents,
    control_point_ids: Collection[int],
    *columns: Any,
    where: Iterable[ColumnElement[bool]] = (),
) -> dict[int, list[Any]]:
    """{control point id: the respondents' answers to it} for the given control points.

    Each answer row holds ``review_id`` and ``control_point_id``, then ``columns`` (of
    :class:`ReviewAnswer`); ``where`` adds conditions on the answers.
    """
    answers = session.execute(
        select(ReviewAnswer.review_id, ReviewAnswer.control_point_id, *columns)
        .join(CaseReview, ReviewAnswer.review_id == CaseReview.id)
        .where(
            CaseReview.round_id == respondents.round_id,
            CaseReview.status == ReviewStatus.COMPLETED,
            ReviewAnswer.control_point_id.in_(sorted(control_point_ids)),
            *where,
        )
    ).all()
    by_point: dict[int, list[Any]] = defaultdict(list)
    for a in answers:
        if int(a.review_id) in respondents.position:
            by_point[int(a.control_point_id)].append(a)
    return by_point


@dataclass(frozen=True)
class _RoundPoint:
    cp_id: int
    code: str
    version: int
    theme_id: int
    is_core: bool
    scored: bool


def round_control_points(session: Session, round_ids: Collection[int]) -> Sequence[Any]:
    """The control points the rounds ask, by round, code and version: rows of ``round_id``,
    ``is_core``, ``id``, ``code``, ``version``, ``theme_id`` and ``scale_id``."""
    return session.execute(
        select(
            RoundControlPoint.round_id,
            RoundControlPoint.is_core,
            ControlPoint.id,
            ControlPoint.code,
            ControlPoint.version,
            ControlPoint.theme_id,
            ControlPoint.scale_id,
        )
        .join(ControlPoint, RoundControlPoint.control_point_id == ControlPoint.id)
        .where(RoundControlPoint.round_id.in_(sorted(round_ids)))
        .order_by(RoundControlPoint.round_id, ControlPoint.code, ControlPoint.version)
    ).all()


def _round_points(session: Session, rnd: Round) -> list[_RoundPoint]:
    rows = round_control_points(session, [rnd.id])
    scored = scored_scales(session, {r.scale_id for r in rows})
    return [
        _RoundPoint(r.id, r.code, r.version, r.theme_id, bool(r.is_core), r.scale_id in scored)
        for r in rows
    ]


def point_estimates(
    session: Session,
    round_ids: Iterable[int],
    *,
    schemes: Collection[str] | None = None,
    unit_ids: Collection[int] | None = None,
    level: float = 0.95,
) -> list[PointEstimate]:
    """Design-based estimates per round and control point series (see the module docstring).

    ``schemes`` / ``unit_ids`` restrict the domain to cases of those schemes / caseworkers of
    those units (the caseworker's current unit); the full sample stays in the strata. Rounds
    without a draw give nothing. Results are ordered by round (period, id), then code.
    """
    ids = sorted(set(round_ids))
    if not ids:
        return []
    rounds = session.scalars(
        select(Round).where(Round.id.in_(ids)).order_by(Round.period_start, Round.id)
    ).all()
    roots = series_roots(session)
    out: list[PointEstimate] = []
    for rnd in rounds:
        if rnd.draw_id is not None:
            out.extend(_round_estimates(session, rnd, roots, schemes, unit_ids, level))
    return out


def _round_estimates(
    session: Session,
    rnd: Round,
    roots: Mapping[int, int],
    schemes: Collection[str] | None,
    unit_ids: Collection[int] | None,
    level: float,
) -> list[PointEstimate]:
    sampled = int(
        session.scalar(select(func.count(DrawItem.id)).where(DrawItem.draw_id == rnd.draw_id)) or 0
    )
    # The completed reviews of the current draw are the (responding) sample.
    respondents = round_respondents(session, rnd)
    n = len(respondents)
    position, pi, strata = respondents.position, respondents.pi, respondents.strata
    in_scope = np.ones(n, dtype=bool)
    if schemes is not None:
        wanted = set(schemes)
        in_scope &= np.array([r.scheme in wanted for r in respondents.rows], dtype=bool)
    if unit_ids is not None:
        units = set(unit_ids)
        in_scope &= np.array([r.unit_id in units for r in respondents.rows], dtype=bool)

    points = _round_points(session, rnd)
    series: dict[int, list[_RoundPoint]] = defaultdict(list)
    for p in points:
        series[roots.get(p.cp_id, p.cp_id)].append(p)
    by_point = respondent_answers(
        session,
        respondents,
        [p.cp_id for p in points],
        ReviewAnswer.outcome,
        ReviewAnswer.score,
        where=[ReviewAnswer.outcome.is_not(None)],
    )

    out = []
    for root, members in series.items():
        members.sort(key=lambda p: p.version)
        latest = members[-1]
        y = np.full(n, np.nan)
        score = np.full(n, np.nan)
        na = np.zeros(n, dtype=bool)
        # Older versions first, so a case answered under two versions keeps the newest answer.
        for p in members:
            for a in by_point.get(p.cp_id, ()):
                i = position[int(a.review_id)]
                y[i] = np.nan
                score[i] = np.nan
                na[i] = False
                if a.outcome == Outcome.NOT_APPLICABLE:
                    na[i] = True
                    continue
                y[i] = (
                    1.0
                    if a.outcome == Outcome.IN_ORDER
                    else 0.0
                    if a.outcome == Outcome.NOT_IN_ORDER
                    else np.nan
                )
                if p.scored and a.score is not None:
                    score[i] = float(a.score)
        domain = in_scope & ~np.isnan(y)
        share = estimate_proportion(y, pi, strata, domain, level)
        mean: Estimate | None = None
        if all(p.scored for p in members):
            mean = estimate_mean(score, pi, strata, in_scope & ~np.isnan(score), level)
        answered = int(domain.sum())
        in_order = int(np.count_nonzero(y[domain] == 1.0))
        out.append(
            PointEstimate(
                round_id=rnd.id,
                series_id=root,
                control_point_ids=tuple(p.cp_id for p in members),
                code=latest.code,
                version=latest.version,
                theme_id=latest.theme_id,
                is_core=any(p.is_core for p in members),
                share=share,
                mean=mean,
                raw_share=in_order / answered if answered else math.nan,
                answered=answered,
                in_order=in_order,
                not_applicable=int(np.count_nonzero(na & in_scope)),
                sampled=sampled,
                completed=n,
            )
        )
    out.sort(key=lambda e: (e.code, e.version))
    return out


def theme_weakness(
    session: Session, plan_id: int, last_n_rounds: int = 1, before: date | None = None
) -> dict[int, float]:
    """{theme id: lowest estimated share in order among its control points} for the plan.

    For each theme, the plan's ``last_n_rounds`` most recent *closed* rounds that asked it are
    used, and the lowest design-weighted point estimate of any of its control points in those
    rounds is returned (lower = weaker). Themes never asked in a closed round, or without any
    estimable control point, are left out. This is the ``estimates`` mapping the rotating-theme
    suggestion accepts. ``before`` given: only rounds whose period starts before that day (the
    suggestions for a round use what was known before it).
    """
    if last_n_rounds < 1:
        return {}
    conditions = [
        Round.plan_id == plan_id,
        Round.status == RoundStatus.CLOSED,
        Round.draw_id.is_not(None),
    ]
    if before is not None:
        conditions.append(Round.period_start < before)
    closed = session.scalars(
        select(Round)
        .where(*conditions)
        .options(selectinload(Round.themes))
        .order_by(Round.period_start.desc(), Round.id.desc())
    ).all()
    rounds_for_theme: dict[int, list[int]] = defaultdict(list)
    for rnd in closed:
        for rt in rnd.themes:
            if len(rounds_for_theme[rt.theme_id]) < last_n_rounds:
                rounds_for_theme[rt.theme_id].append(rnd.id)
    needed = {rid for ids in rounds_for_theme.values() for rid in ids}
    lowest: dict[int, float] = {}
    wanted = {(tid, rid) for tid, ids in rounds_for_theme.items() for rid in ids}
    for e in point_estimates(session, needed):
        value = e.share.estimate
        if (e.theme_id, e.round_id) not in wanted or not math.isfinite(value):
            continue
        lowest[e.theme_id] = min(lowest.get(e.theme_id, value), value)
    return lowest
