"""Acceptance: on the demo, the Metodekontrol page shows coverage for each data-answered control
point over the eight past rounds of every team, consistent with 95 %.

The census shares are recomputed here independently of ``tilsyn.risk.data_answers`` and
``tilsyn.quality.census``: plain Python predicates for the starter catalogue's five rules, applied
row by row to the snapshot's cases in each draw's frame (its caseworkers, minus the cases it
excluded unless the caseworker was kept whole); the estimates with
``tilsyn.stats.estimation.estimate_proportion`` on the completed reviews.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import numpy as np
from sqlalchemy import select

from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import ControlPoint, Outcome, ScaleOption
from tilsyn.demo import build_demo
from tilsyn.quality.method_page import method_page
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.stats.coverage import coverage_range
from tilsyn.stats.estimation import estimate_proportion

TODAY = date(2026, 10, 1)


def _weeks(case: Case, as_of: date) -> float:
    return (as_of - case.start_date).days / 7.0


def _reassessment(minimum_weeks: float) -> Callable[[Case, date], str | None]:
    def rule(case: Case, as_of: date) -> str | None:
        if _weeks(case, as_of) < minimum_weeks:
            return "ir"
        if case.reassessment_due is None:
            return None
        return "nej" if case.reassessment_due < as_of else "ja"

    return rule


def _conversations(case: Case, as_of: date) -> str | None:
    if _weeks(case, as_of) < 52:
        return "ir"
    if case.conversations_12m is None:
        return None
    return "ja" if case.conversations_12m >= 6 else "nej"


def _flag(name: str) -> Callable[[Case, date], str | None]:
    def rule(case: Case, _as_of: date) -> str | None:
        value = getattr(case, name)
        return None if value is None else ("ja" if value else "nej")

    return rule


RULES: dict[str, Callable[[Case, date], str | None]] = {
    "JOBMAAL-01": _flag("job_goal"),
    "CV-01": _flag("cv_on_jobnet"),
    "RETTID-02": _reassessment(78),
    "RETTID-03": _conversations,
    "RETTID-04": _reassessment(22),
}


def _recompute(session) -> tuple[dict[tuple[int, str], bool], dict[tuple[int, str], float]]:
    covered: dict[tuple[int, str], bool] = {}
    census: dict[tuple[int, str], float] = {}
    rounds = session.scalars(select(Round).where(Round.status == RoundStatus.CLOSED)).all()
    cases_of: dict[int, list[Case]] = {}
    for rnd in rounds:
        draw = session.get(Draw, rnd.draw_id)
        snapshot = session.get(Snapshot, draw.snapshot_id)
        params = draw.params
        cws = set(params["caseworker_ids"]) if params.get("caseworker_ids") is not None else None
        excluded = set(params.get("exclude_case_refs") or [])
        kept = set(params.get("exclusion_fallback_caseworker_ids") or [])
        if snapshot.id not in cases_of:
            cases_of[snapshot.id] = list(
                session.scalars(select(Case).where(Case.snapshot_id == snapshot.id))
            )
        frame = [
            c
            for c in cases_of[snapshot.id]
            if (cws is None or c.caseworker_id in cws)
            and not (c.case_ref in excluded and c.caseworker_id not in kept)
        ]
        by_case = {c.id: c for c in frame}
        points = session.scalars(
            select(ControlPoint)
            .join(RoundControlPoint, RoundControlPoint.control_point_id == ControlPoint.id)
            .where(RoundControlPoint.round_id == rnd.id, ControlPoint.code.in_(RULES))
        ).all()
        reviews = session.execute(
            select(
                CaseReview.id, DrawItem.case_id, DrawItem.inclusion_probability, DrawItem.stratum
            )
            .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
            .where(CaseReview.round_id == rnd.id, CaseReview.status == ReviewStatus.COMPLETED)
            .order_by(CaseReview.id)
        ).all()
        for cp in points:
            outcome = dict(
                session.execute(
                    select(ScaleOption.code, ScaleOption.outcome).where(
                        ScaleOption.scale_id == cp.scale_id
                    )
                ).all()
            )
            rule = RULES[cp.code]

            def rule_outcome(
                case: Case | None, cp=cp, rule=rule, outcome=outcome, as_of=snapshot.as_of
            ) -> str | None:
                if case is None or (cp.schemes and case.scheme not in cp.schemes):
                    return None
                code = rule(case, as_of)
                return None if code is None else outcome[code]

            answered = [o for c in frame if (o := rule_outcome(c)) in ("in_order", "not_in_order")]
            if not answered:
                continue
            share = answered.count("in_order") / len(answered)
            given = dict(
                session.execute(
                    select(ReviewAnswer.review_id, ReviewAnswer.outcome).where(
                        ReviewAnswer.control_point_id == cp.id
                    )
                ).all()
            )
            y, domain = [], []
            for r in reviews:
                leader = given.get(r.id)
                ruled = rule_outcome(by_case.get(r.case_id)) in ("in_order", "not_in_order")
                y.append(1.0 if leader == Outcome.IN_ORDER else 0.0)
                domain.append(ruled and leader in ("in_order", "not_in_order"))
            if not any(domain):
                continue  # no reviewed case the rule answers: nothing to compare
            e = estimate_proportion(
                np.array(y),
                np.array([r.inclusion_probability for r in reviews]),
                [r.stratum for r in reviews],
                np.array(domain),
            )
            if not (np.isfinite(e.ci_low) and np.isfinite(e.ci_high)):
                continue  # no interval (e.g. a single stratum holding the domain): no check
            census[(rnd.id, cp.code)] = share
            covered[(rnd.id, cp.code)] = bool(e.ci_low <= share <= e.ci_high)
    return covered, census


def test_demo_method_check(session) -> None:
    build_demo(session, seed=2026, password="demo-adgang-1", today=TODAY)
    session.commit()
    page = method_page(session, None)
    assert page.round_count == 40  # 5 teams x 8 past rounds

    covered, census = _recompute(session)
    shown = {(line.round.id, line.point.code): line.point for line in page.rounds}
    comparable = {k: p for k, p in shown.items() if p.covered is not None}
    assert set(comparable) == set(covered)
    for key, point in comparable.items():
        assert point.census_share == census[key], key
        assert point.covered == covered[key], key

    by_code: dict[str, list[bool]] = defaultdict(list)
    for (_round_id, code), hit in covered.items():
        by_code[code].append(hit)
    lines = {line.code: line for line in page.lines}
    # every data-answered point the demo asks has coverage figures; JOBMAAL-01 is in the fixed
    # core, so it is asked in all eight past rounds of every team
    assert set(by_code) == set(lines) - {""}
    assert lines["JOBMAAL-01"].rounds == 40
    for code, hits in by_code.items():
        line = lines[code]
        assert (line.rounds, line.covered) == (len(hits), sum(hits))
        assert line.consistent, code
    total = lines[""]
    assert total.rounds == len(covered) and total.covered == sum(covered.values())
    low, high = coverage_range(total.rounds)
    assert low <= total.covered <= high  # consistent with 95 %
    assert total.prefilled > 0 and 0 < total.overridden < 0.05 * total.prefilled
