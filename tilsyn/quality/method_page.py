"""The *Metodekontrol* page: coverage of the census share by the rounds' 95 % intervals.

For every data-answered control point, over the closed rounds the actor may see: the rounds
with both a census share and an estimate, how many intervals covered the census share, the
coverage rate and the range of covering counts that is unremarkable for intervals with 95 %
coverage (:func:`tilsyn.stats.coverage.coverage_range`). Below, every round's census share,
estimate, interval and the prefill override counts. Aggregates only: no case-level data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Scale
from tilsyn.quality.census import CensusPoint, method_check
from tilsyn.risk import data_answers
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.plans import visible_rounds
from tilsyn.stats.coverage import coverage_range

__all__ = ["CoverageLine", "MethodPage", "RoundLine", "RuleText", "current_rules", "method_page"]


@dataclass(frozen=True)
class CoverageLine:
    code: str  # "" for the total line
    rounds: int
    covered: int
    expected_low: int
    expected_high: int
    prefilled: int
    overridden: int

    @property
    def rate(self) -> float:
        return self.covered / self.rounds if self.rounds else math.nan

    @property
    def consistent(self) -> bool | None:
        """Whether the covered count lies in the range expected at 95 % (None: no rounds)."""
        if not self.rounds:
            return None
        return self.expected_low <= self.covered <= self.expected_high


@dataclass(frozen=True)
class RoundLine:
    round: Round
    point: CensusPoint


@dataclass(frozen=True)
class RuleText:
    """A data-answered control point (current version) and its rule in words."""

    code: str
    question: str
    lines: list[str]


@dataclass(frozen=True)
class MethodPage:
    lines: list[CoverageLine]
    rounds: list[RoundLine]
    round_count: int
    rules: list[RuleText]


def current_rules(session: Session) -> list[RuleText]:
    """The active data-answered control points with their rules in words, by code."""
    cps = session.scalars(
        select(ControlPoint)
        .where(ControlPoint.active.is_(True), ControlPoint.data_rule.is_not(None))
        .options(selectinload(ControlPoint.scale).selectinload(Scale.options))
        .order_by(ControlPoint.code)
    ).all()
    out = []
    for cp in cps:
        rule = data_answers.parse_stored(cp.data_rule)
        if rule is None:
            continue
        labels = {o.code: o.label for o in cp.scale.options}
        out.append(RuleText(cp.code, cp.question, data_answers.rule_lines(rule, labels)))
    return out


def visible_closed_rounds(session: Session, actor: User | None) -> list[Round]:
    return list(
        session.scalars(
            visible_rounds(actor, Round.status == RoundStatus.CLOSED, Round.draw_id.is_not(None))
            .options(selectinload(Round.plan))
            .order_by(SupervisionPlan.name, Round.period_start, Round.id)
        )
    )


def method_page(session: Session, actor: User | None, level: float = 0.95) -> MethodPage:
    """Coverage per data-answered control point over the closed rounds ``actor`` may see."""
    rounds = visible_closed_rounds(session, actor)
    _rows, points = method_check(session, rounds, level)
    by_id = {r.id: r for r in rounds}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for p in points:
        c = counts[p.code]
        c[2] += p.prefilled
        c[3] += p.overridden
        if p.covered is not None:
            c[0] += 1
            c[1] += int(p.covered)
    lines = []
    for code in sorted(counts):
        n, k, pre, over = counts[code]
        lo, hi = coverage_range(n, level, 0.95)
        lines.append(CoverageLine(code, n, k, lo, hi, pre, over))
    n_all = sum(line.rounds for line in lines)
    lo, hi = coverage_range(n_all, level, 0.95)
    total = CoverageLine(
        "",
        n_all,
        sum(line.covered for line in lines),
        lo,
        hi,
        sum(line.prefilled for line in lines),
        sum(line.overridden for line in lines),
    )
    return MethodPage(
        lines=[*lines, total] if lines else [],
        rounds=[RoundLine(by_id[p.round_id], p) for p in points],
        round_count=len(rounds),
        rules=current_rules(session),
    )
