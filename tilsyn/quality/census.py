"""Census beside the estimate, and the *Metodekontrol* (coverage of the census by the intervals).

A data-answered control point (one with a data rule, :mod:`tilsyn.risk.data_answers`) can be
evaluated on *every* case of a round's population, not just on the sample. That gives the
census share: the exact share in order among the cases the rule answers (in order or not in
order), counted over the whole population the round's draw was made from ("optælling i hele
sagsstammen") — no interval.

* **Population of a round.** The cases of the draw's snapshot held by the caseworkers the draw
  covered, minus the cases the draw excluded (cases sampled in recent rounds), except for the
  caseworkers the draw kept whole because every case would have been excluded — exactly the
  frame the inclusion probabilities refer to. Only cases of schemes the control point applies
  to count.
* **The same domain.** The census counts the cases where the rule's answer is in order or not
  in order. The sample estimate beside it (:attr:`CensusPoint.estimate`) is the design-based
  (Hájek, Korn–Graubard) share in order among the completed reviews of the same round whose
  case the rule answers in order or not in order *and* whose leader answered in order or not in
  order; ``y`` is the leader's answer. Completed reviews are the sample, as for the round's
  estimates (:mod:`tilsyn.reviews` non-response rule).
* **Coverage.** The 95 % interval of a correct design covers the census share in about 95 % of
  rounds, as long as the leaders' answers follow the data (every override moves the estimate
  away from the census). :func:`method_check` counts, per control point, the rounds with both
  figures and those whose interval covers the census share.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.cases.models import Snapshot
from tilsyn.catalogue.models import ControlPoint, Outcome, Scale
from tilsyn.reviews.estimates import respondent_answers, round_respondents
from tilsyn.reviews.models import ReviewAnswer
from tilsyn.risk import data_answers
from tilsyn.risk.population import Population, load_population
from tilsyn.rounds.models import Round, RoundControlPoint
from tilsyn.sampling.models import Draw
from tilsyn.stats.estimation import Estimate, estimate_proportion

__all__ = [
    "CensusPoint",
    "CoverageRow",
    "DataPoint",
    "data_point",
    "method_check",
    "population_mask",
    "round_census",
    "round_census_cells",
    "round_data_points",
]

_ANSWERED = (Outcome.IN_ORDER.value, Outcome.NOT_IN_ORDER.value)


@dataclass(frozen=True)
class DataPoint:
    """A data-answered control point version as the census needs it."""

    id: int
    code: str
    version: int
    schemes: tuple[str, ...]
    rule: data_answers.DataRule
    #: option code -> (option id, outcome)
    options: Mapping[str, tuple[int, str]]

    def applies_to(self, scheme: str) -> bool:
        return not self.schemes or scheme in self.schemes

    def outcomes(self, answers: NDArray[np.object_]) -> NDArray[np.object_]:
        """The outcome (or None) of each rule answer (an option code or None)."""
        return np.array(
            [None if a is None else self.options[str(a)][1] for a in answers.tolist()],
            dtype=object,
        ).reshape(answers.shape[0])


def data_point(cp: ControlPoint) -> DataPoint | None:
    """The :class:`DataPoint` of a control point version, None without a usable rule."""
    rule = data_answers.parse_stored(cp.data_rule)
    if rule is None:
        return None
    options = {o.code: (o.id, o.outcome) for o in cp.scale.options}
    if data_answers.validate_rule(rule, options):
        return None
    return DataPoint(cp.id, cp.code, cp.version, tuple(cp.schemes or ()), rule, options)


def round_data_points(session: Session, rnd: Round) -> list[DataPoint]:
    """The round's control points that carry a valid data rule, by code."""
    cps = session.scalars(
        select(ControlPoint)
        .join(RoundControlPoint, RoundControlPoint.control_point_id == ControlPoint.id)
        .where(RoundControlPoint.round_id == rnd.id, ControlPoint.data_rule.is_not(None))
        .options(selectinload(ControlPoint.scale).selectinload(Scale.options))
        .order_by(ControlPoint.code, ControlPoint.version)
    ).all()
    return [dp for cp in cps if (dp := data_point(cp)) is not None]


def population_mask(population: Population, params: Mapping[str, Any]) -> NDArray[np.bool_]:
    """The cases of ``population`` (the draw's snapshot) in the draw's frame (see module doc)."""
    mask = np.ones(len(population), dtype=np.bool_)
    cw_ids = params.get("caseworker_ids")
    if cw_ids is not None:
        mask &= np.isin(population.caseworker_ids, np.array(sorted(cw_ids), dtype=np.int64))
    excluded = [str(r) for r in params.get("exclude_case_refs") or []]
    if excluded:
        drop = np.isin(population.case_refs.astype(str), excluded)
        if params.get("exclusion_fallback"):
            kept = [int(c) for c in params.get("exclusion_fallback_caseworker_ids") or []]
            drop &= ~np.isin(population.caseworker_ids, np.array(kept, dtype=np.int64))
        mask &= ~drop
    return mask


@dataclass(frozen=True)
class CensusPoint:
    """Census share and sample estimate of one data-answered control point in one round."""

    round_id: int
    control_point_id: int
    code: str
    version: int
    #: Cases of the round's population the rule answers in order / in order or not in order.
    census_in_order: int
    census_answered: int
    #: Sample estimate on the same domain (see the module docstring).
    estimate: Estimate
    #: Completed reviews with a prefilled answer for the point, and those overridden.
    prefilled: int
    overridden: int

    @property
    def census_share(self) -> float:
        """Exact share in order in the population (NaN when the rule answers no case)."""
        if not self.census_answered:
            return math.nan
        return self.census_in_order / self.census_answered

    @property
    def comparable(self) -> bool:
        """Both figures exist (a census share and an estimate with a finite interval)."""
        e = self.estimate
        return (
            not math.isnan(self.census_share)
            and e.n > 0
            and math.isfinite(e.ci_low)
            and math.isfinite(e.ci_high)
        )

    @property
    def covered(self) -> bool | None:
        """Whether the interval covers the census share (None when not comparable)."""
        if not self.comparable:
            return None
        return self.estimate.ci_low <= self.census_share <= self.estimate.ci_high


class _PopulationCache:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_snapshot: dict[int, tuple[Population, dict[int, int]]] = {}

    def get(self, snapshot_id: int) -> tuple[Population, dict[int, int]]:
        if snapshot_id not in self.by_snapshot:
            snapshot = self.session.get(Snapshot, snapshot_id)
            assert snapshot is not None
            pop = load_population(self.session, snapshot, prior_findings={})
            index = {int(c): i for i, c in enumerate(pop.case_ids.tolist())}
            self.by_snapshot[snapshot_id] = (pop, index)
        return self.by_snapshot[snapshot_id]


@dataclass(frozen=True)
class _RoundFrame:
    """A round's data-answered points over the population its draw was made from."""

    points: list[DataPoint]
    population: Population
    #: case id -> row of ``population``
    index: dict[int, int]
    #: the cases of the draw's frame (:func:`population_mask`)
    frame: NDArray[np.bool_]
    scheme: NDArray[np.str_]

    def evaluate(
        self, p: DataPoint
    ) -> tuple[NDArray[np.object_], NDArray[np.bool_], NDArray[np.bool_]]:
        """Per case of the population: the rule's outcome, whether the rule answers the case in
        order or not in order (``ruled``), and whether the case counts in the census (ruled, in
        the draw's frame and of a scheme ``p`` applies to)."""
        outcome = p.outcomes(data_answers.evaluate(p.rule, self.population.attributes))
        ruled = np.isin(outcome.astype(str), _ANSWERED)
        applies = np.array([p.applies_to(s) for s in self.scheme.tolist()], dtype=np.bool_)
        return outcome, ruled, self.frame & applies & ruled


def _round_frame(
    session: Session, rnd: Round, cache: _PopulationCache | None
) -> _RoundFrame | None:
    """None for a round without a draw or without data-answered control points."""
    if rnd.draw_id is None:
        return None
    points = round_data_points(session, rnd)
    if not points:
        return None
    draw = session.get(Draw, rnd.draw_id)
    assert draw is not None
    cache = cache if cache is not None else _PopulationCache(session)
    population, index = cache.get(draw.snapshot_id)
    return _RoundFrame(
        points,
        population,
        index,
        population_mask(population, draw.params),
        population.scheme.astype(str),
    )


def round_census(
    session: Session, rnd: Round, level: float = 0.95, *, _cache: _PopulationCache | None = None
) -> list[CensusPoint]:
    """Census share and same-domain estimate per data-answered control point of the round.

    Rounds without a draw, or without data-answered control points, give an empty list.
    """
    rf = _round_frame(session, rnd, _cache)
    if rf is None:
        return []
    respondents = round_respondents(session, rnd)
    n, position = len(respondents), respondents.position
    rows = np.array([rf.index.get(int(r.case_id), -1) for r in respondents.rows], dtype=np.int64)
    by_point = respondent_answers(
        session,
        respondents,
        [p.id for p in rf.points],
        ReviewAnswer.outcome,
        ReviewAnswer.option_id,
        ReviewAnswer.prefill_option_id,
    )

    out: list[CensusPoint] = []
    for p in rf.points:
        outcome, ruled, census = rf.evaluate(p)
        in_order = int(np.count_nonzero(census & (outcome == Outcome.IN_ORDER.value)))

        y = np.full(n, np.nan)
        prefilled = overridden = 0
        for a in by_point.get(p.id, ()):
            i = position[int(a.review_id)]
            if a.outcome in _ANSWERED:
                y[i] = 1.0 if a.outcome == Outcome.IN_ORDER else 0.0
            if a.prefill_option_id is not None:
                prefilled += 1
                if a.option_id is not None and a.option_id != a.prefill_option_id:
                    overridden += 1
        sample_ruled = np.zeros(n, dtype=np.bool_)
        known = rows >= 0
        sample_ruled[known] = ruled[rows[known]]
        domain = sample_ruled & ~np.isnan(y)
        estimate = estimate_proportion(
            np.nan_to_num(y), respondents.pi, respondents.strata, domain, level
        )
        out.append(
            CensusPoint(
                round_id=rnd.id,
                control_point_id=p.id,
                code=p.code,
                version=p.version,
                census_in_order=in_order,
                census_answered=int(np.count_nonzero(census)),
                estimate=estimate,
                prefilled=prefilled,
                overridden=overridden,
            )
        )
    return out


#: {(unit id, scheme): (cases in order, cases the rule answers)}
CensusCells = dict[tuple[int, str], tuple[int, int]]


def round_census_cells(
    session: Session, rnd: Round, *, _cache: _PopulationCache | None = None
) -> dict[int, CensusCells]:
    """The census of each data-answered control point version of the round (by its id), split
    by the case's unit (the unit recorded with a draw: the case's, else its caseworker's) and
    scheme, so that callers can sum it over the domain of any unit or scheme filter.

    Rounds without a draw, or without data-answered control points, give an empty dict.
    """
    rf = _round_frame(session, rnd, _cache)
    if rf is None:
        return {}
    out: dict[int, CensusCells] = {}
    for p in rf.points:
        outcome, _ruled, census = rf.evaluate(p)
        good = outcome == Outcome.IN_ORDER.value
        cells: CensusCells = {}
        for u, s, ok in zip(
            rf.population.unit_ids[census].tolist(),
            rf.scheme[census].tolist(),
            good[census].tolist(),
            strict=True,
        ):
            in_order, answered = cells.get((int(u), str(s)), (0, 0))
            cells[(int(u), str(s))] = (in_order + int(bool(ok)), answered + 1)
        out[p.id] = cells
    return out


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of the census share by the round intervals, for one control point code."""

    code: str
    rounds: int  # rounds with both figures
    covered: int

    @property
    def rate(self) -> float:
        return self.covered / self.rounds if self.rounds else math.nan


def method_check(
    session: Session, rounds: Iterable[Round], level: float = 0.95
) -> tuple[list[CoverageRow], list[CensusPoint]]:
    """Coverage per control point code over ``rounds`` (and every round's census points).

    Rows are ordered by code; a last row with code ``""`` holds the total over all points.
    """
    cache = _PopulationCache(session)
    points: list[CensusPoint] = []
    for rnd in rounds:
        points.extend(round_census(session, rnd, level, _cache=cache))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cp in points:
        if cp.covered is None:
            continue
        counts[cp.code][0] += 1
        counts[cp.code][1] += int(cp.covered)
    rows = [CoverageRow(code, r, c) for code, (r, c) in sorted(counts.items())]
    total = CoverageRow("", sum(r.rounds for r in rows), sum(r.covered for r in rows))
    return [*rows, total], points
