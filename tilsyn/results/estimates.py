"""Period designs, estimates per domain, and changes flagged with Benjamini–Hochberg.

The definitions are in ``docs/statistics.md`` (sections 12–19, "Results over periods"); in short:

* **Period design.** The sample of a period is the union of the current draws of its rounds;
  strata are (round, draw stratum). Respondents are the cases with a completed review. A
  respondent's weight is ``(1/π) · (sampled in its stratum / completed in its stratum)``, passed
  to the estimators as the adjusted probability ``π · completed_h / sampled_h``; a stratum with
  no completed review drops out. A figure is *provisional* when any sampled case of its domain
  (rounds asking it, unit, scheme) lacks a completed review, and says how many.
* **Domains.** A control point: respondents answering it *i orden* or *ikke i orden*; a unit's
  figure restricts to cases of that unit as recorded with the draw; a scheme filter to the
  case's scheme. A theme: the ratio of answers in order to answers in order or not, over the
  theme's control points, among respondents with at least one such answer.
* **Change.** ``compare`` with the previous period and with the same period a year earlier;
  within the family of every comparison between that pair of periods (all units, control
  points and themes) the p-values are adjusted with Benjamini–Hochberg and a change is flagged
  when the adjusted p ≤ q.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tilsyn.results.data import (
    PeriodData,
    SampledCase,
    is_completed,
    period_sort_key,
    previous_period,
    year_earlier,
)
from tilsyn.stats.estimation import (
    Estimate,
    bh_adjust,
    compare,
    estimate_mean,
    estimate_proportion,
    estimate_ratio,
)

CONTROL_POINT, THEME = "control_point", "theme"
IN_ORDER, NOT_IN_ORDER, NOT_APPLICABLE = "in_order", "not_in_order", "not_applicable"


@dataclass(frozen=True, slots=True)
class Change:
    """A change from ``from_period`` to the row's period (later − earlier)."""

    from_period: str
    diff: float
    std_error: float
    ci_low: float
    ci_high: float
    df: float
    p_value: float
    p_adjusted: float
    flagged: bool


@dataclass(slots=True)
class ResultRow:
    """One figure: a control point series or a theme, for the organisation or a unit."""

    period: str
    unit_id: int | None
    unit: str | None
    level: str
    key: int  # series id (oldest comparable version) or theme id
    series: str | None
    code: str
    version: int | None
    theme: str
    theme_name: str
    is_core: bool
    estimate: Estimate
    mean: Estimate | None
    in_order: int
    not_in_order: int
    not_applicable: int
    sampled: int
    completed: int
    few: bool
    change: Change | None = None
    change_year: Change | None = None
    #: Exact share in order over every case of the rounds' populations in the row's domain,
    #: for data-answered control points (None where no rule applies or it answers no case).
    census_share: float | None = None

    @property
    def n(self) -> int:
        return self.estimate.n

    @property
    def raw_share(self) -> float:
        """Unweighted share of answers in order in the sample (describes the risk-weighted
        sample, not all cases: show it only labelled as such)."""
        answered = self.in_order + self.not_in_order
        return self.in_order / answered if answered else math.nan

    @property
    def missing(self) -> int:
        return self.sampled - self.completed

    @property
    def provisional(self) -> bool:
        return self.completed < self.sampled

    @property
    def ident(self) -> tuple[int | None, str, int]:
        return (self.unit_id, self.level, self.key)


@dataclass(frozen=True, slots=True)
class Options:
    scheme: str | None = None
    q: float = 0.10
    min_n: int = 10
    level: float = 0.95


@dataclass
class _Design:
    cases: list[SampledCase]
    resp: list[SampledCase]
    pi: np.ndarray
    strata: np.ndarray
    unit: np.ndarray
    in_scheme: np.ndarray
    units: list[int] = field(default_factory=list)


def _design(cases: list[SampledCase], scheme: str | None) -> _Design:
    sampled: dict[tuple[int, str], int] = defaultdict(int)
    completed: dict[tuple[int, str], int] = defaultdict(int)
    for c in cases:
        key = (c.round_id, c.stratum)
        sampled[key] += 1
        if is_completed(c):
            completed[key] += 1
    resp = [c for c in cases if is_completed(c)]
    codes: dict[tuple[int, str], int] = {}
    strata = np.array(
        [codes.setdefault((c.round_id, c.stratum), len(codes)) for c in resp], dtype=np.int64
    )
    pi = np.array(
        [
            c.pi * completed[(c.round_id, c.stratum)] / sampled[(c.round_id, c.stratum)]
            for c in resp
        ],
        dtype=np.float64,
    )
    unit = np.array([-1 if c.unit_id is None else c.unit_id for c in resp], dtype=np.int64)
    in_scheme = np.array([scheme is None or c.scheme == scheme for c in resp], dtype=bool)
    units = sorted({c.unit_id for c in cases if c.unit_id is not None})
    return _Design(cases, resp, pi, strata, unit, in_scheme, units)


def _unit_mask(d: _Design, unit_id: int | None) -> np.ndarray:
    if unit_id is None:
        return np.ones(len(d.resp), dtype=bool)
    return d.unit == unit_id


def _sampled_completed(
    cases: Iterable[SampledCase], rounds: Collection[int], unit_id: int | None, scheme: str | None
) -> tuple[int, int]:
    sampled = completed = 0
    for c in cases:
        if c.round_id not in rounds:
            continue
        if unit_id is not None and c.unit_id != unit_id:
            continue
        if scheme is not None and c.scheme != scheme:
            continue
        sampled += 1
        completed += is_completed(c)
    return sampled, completed


def estimate_period(data: PeriodData, period: str, opts: Options) -> list[ResultRow]:
    """Every figure of ``period``: per control point series and theme, for the organisation
    (``unit_id`` None) and each unit with sampled cases, in a fixed order (unit name, then
    themes before their control points, by code)."""
    cases = [c for c in data.cases if c.period == period]
    if not cases:
        return []
    d = _design(cases, opts.scheme)
    n = len(d.resp)
    rounds = sorted({c.round_id for c in cases})
    # series id -> rounds asking it, (round, series) -> control point ids (oldest first)
    series_rounds: dict[int, set[int]] = defaultdict(set)
    theme_rounds: dict[int, set[int]] = defaultdict(set)
    round_series: dict[tuple[int, int], list[int]] = defaultdict(list)
    round_theme: dict[tuple[int, int], list[int]] = defaultdict(list)
    core_series: set[int] = set()
    core_themes: set[int] = set()
    latest: dict[int, int] = {}
    for rid in rounds:
        for cp_id, is_core in data.round_points.get(rid, []):
            p = data.points[cp_id]
            series_rounds[p.series_id].add(rid)
            theme_rounds[p.theme_id].add(rid)
            round_series[(rid, p.series_id)].append(cp_id)
            round_theme[(rid, p.theme_id)].append(cp_id)
            if is_core:
                core_series.add(p.series_id)
                core_themes.add(p.theme_id)
            if p.series_id not in latest or p.version > data.points[latest[p.series_id]].version:
                latest[p.series_id] = cp_id
    answers = [data.answers.get((c.round_id, c.draw_item_id), {}) for c in d.resp]
    resp_round = [c.round_id for c in d.resp]
    domains: list[int | None] = [None, *d.units]
    rows: list[ResultRow] = []

    def domain_row(
        unit_id: int | None, asked_in: Collection[int], est: Estimate, **figure: Any
    ) -> ResultRow:
        """The row of one figure in one domain: the fields every figure fills alike (period,
        unit, the sampled and completed cases of the rounds asking it, few answers) and its own
        ``figure`` fields."""
        sampled, completed = _sampled_completed(cases, asked_in, unit_id, opts.scheme)
        return ResultRow(
            period=period,
            unit_id=unit_id,
            unit=None if unit_id is None else data.units.get(unit_id, str(unit_id)),
            estimate=est,
            sampled=sampled,
            completed=completed,
            few=est.n < opts.min_n,
            **figure,
        )

    for sid, srounds in series_rounds.items():
        y = np.full(n, np.nan)
        score = np.full(n, np.nan)
        na = np.zeros(n, dtype=bool)
        for i in range(n):
            cps = round_series.get((resp_round[i], sid))
            if not cps:
                continue
            for cp_id in sorted(cps, key=lambda c: data.points[c].version):
                a = answers[i].get(cp_id)
                if a is None or a.outcome is None:
                    continue
                y[i], score[i], na[i] = np.nan, np.nan, False
                if a.outcome == NOT_APPLICABLE:
                    na[i] = True
                else:
                    y[i] = 1.0 if a.outcome == IN_ORDER else 0.0
                    if data.points[cp_id].scored and a.score is not None:
                        score[i] = a.score
        info = data.points[latest[sid]]
        scored = all(
            data.points[c].scored for (_r, s), cs in round_series.items() if s == sid for c in cs
        )
        for unit_id in domains:
            scope = _unit_mask(d, unit_id) & d.in_scheme
            dom = scope & ~np.isnan(y)
            est = estimate_proportion(y, d.pi, d.strata, dom, opts.level)
            mean = (
                estimate_mean(score, d.pi, d.strata, scope & ~np.isnan(score), opts.level)
                if scored
                else None
            )
            rows.append(
                domain_row(
                    unit_id,
                    srounds,
                    est,
                    level=CONTROL_POINT,
                    key=sid,
                    series=data.points[latest[sid]].series_code,
                    code=info.code,
                    version=info.version,
                    theme=info.theme_code,
                    theme_name=data.themes[info.theme_id][1],
                    is_core=sid in core_series,
                    mean=mean,
                    in_order=int(np.count_nonzero(y[dom] == 1.0)),
                    not_in_order=int(np.count_nonzero(y[dom] == 0.0)),
                    not_applicable=int(np.count_nonzero(na & scope)),
                )
            )

    for tid, trounds in theme_rounds.items():
        ty = np.zeros(n)
        tx = np.zeros(n)
        na = np.zeros(n, dtype=bool)
        for i in range(n):
            for cp_id in round_theme.get((resp_round[i], tid), ()):
                a = answers[i].get(cp_id)
                if a is None or a.outcome is None:
                    continue
                if a.outcome == NOT_APPLICABLE:
                    na[i] = True
                    continue
                tx[i] += 1.0
                ty[i] += a.outcome == IN_ORDER
        code, name = data.themes[tid]
        for unit_id in domains:
            scope = _unit_mask(d, unit_id) & d.in_scheme
            dom = scope & (tx > 0)
            est = estimate_ratio(ty, tx, d.pi, d.strata, dom, opts.level)
            rows.append(
                domain_row(
                    unit_id,
                    trounds,
                    est,
                    level=THEME,
                    key=tid,
                    series=None,
                    code=code,
                    version=None,
                    theme=code,
                    theme_name=name,
                    is_core=tid in core_themes,
                    mean=None,
                    in_order=int(ty[dom].sum()),
                    not_in_order=int((tx - ty)[dom].sum()),
                    not_applicable=int(np.count_nonzero(na & scope & (tx == 0))),
                )
            )
    rows.sort(key=row_order)
    return rows


def row_order(r: ResultRow) -> tuple[int, str, str, int, str]:
    """Fixed order: the organisation first, then units by name; within a unit each theme
    followed by its control points, by code. Never by value."""
    return (
        0 if r.unit is None else 1,
        r.unit or "",
        r.theme,
        0 if r.level == THEME else 1,
        r.code,
    )


def _changes(
    current: list[ResultRow], earlier: list[ResultRow], from_period: str, q: float
) -> dict[tuple[int | None, str, int], Change]:
    before = {r.ident: r for r in earlier}
    pairs = []
    for r in current:
        b = before.get(r.ident)
        if b is not None and b.n > 0 and r.n > 0:
            pairs.append((r, compare(b.estimate, r.estimate, level=r.estimate.level)))
    adjusted = bh_adjust(np.array([d.p_value for _, d in pairs], dtype=np.float64))
    out = {}
    for (r, d), p_adj in zip(pairs, adjusted.tolist(), strict=True):
        out[r.ident] = Change(
            from_period=from_period,
            diff=d.diff,
            std_error=d.std_error,
            ci_low=d.ci_low,
            ci_high=d.ci_high,
            df=d.df,
            p_value=d.p_value,
            p_adjusted=p_adj,
            flagged=bool(math.isfinite(p_adj) and p_adj <= q),
        )
    return out


def needed_periods(periods: Iterable[str]) -> set[str]:
    """The periods and those their changes compare with."""
    out = set()
    for p in periods:
        out.add(p)
        for other in (previous_period(p), year_earlier(p)):
            if other is not None:
                out.add(other)
    return out


def attach_changes(by_period: dict[str, list[ResultRow]], periods: Iterable[str], q: float) -> None:
    """Set ``change`` (vs the previous period) and ``change_year`` (vs the same period a year
    earlier) on the rows of ``periods``; ``by_period`` must hold the compared periods too."""
    for p in periods:
        rows = by_period.get(p, [])
        prev, year = previous_period(p), year_earlier(p)
        ch_prev = _changes(rows, by_period.get(prev, []), prev, q) if prev else {}
        ch_year = _changes(rows, by_period.get(year, []), year, q) if year else {}
        for r in rows:
            r.change = ch_prev.get(r.ident)
            r.change_year = ch_year.get(r.ident)


def estimate_periods(
    data: PeriodData, periods: Iterable[str], opts: Options
) -> dict[str, list[ResultRow]]:
    """Figures per period with their changes (``data`` must hold the compared periods too,
    see :func:`needed_periods`). Periods without sampled cases give an empty list."""
    wanted = sorted(set(periods), key=period_sort_key)
    by_period = {p: estimate_period(data, p, opts) for p in needed_periods(wanted)}
    attach_changes(by_period, wanted, opts.q)
    return {p: by_period[p] for p in wanted}
