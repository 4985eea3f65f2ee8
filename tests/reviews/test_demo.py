"""The demo's findings: complete for closed rounds, partial for the current one, deterministic,
plausible rates, and a risk-weighted sample whose raw share understates the weighted one."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import date
from statistics import mean

from sqlalchemy import delete, select

from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Outcome, ScaleOption
from tilsyn.demo import build_demo, extension_rng
from tilsyn.reviews.demo import add_demo_reviews
from tilsyn.reviews.estimates import point_estimates
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.reviews.progress import round_progress, totals
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, SupervisionPlan
from tilsyn.sampling.models import DrawItem

SEED = 2026
TODAY = date(2026, 10, 1)
PATH = "tilsyn.reviews.demo:add_demo_reviews"


def findings_digest(session) -> str:
    rows = session.execute(
        select(
            SupervisionPlan.name,
            Round.period_label,
            DrawItem.case_ref,
            CaseReview.status,
            ControlPoint.code,
            ScaleOption.code,
        )
        .join(Round, CaseReview.round_id == Round.id)
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
        .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
        .join(ControlPoint, ReviewAnswer.control_point_id == ControlPoint.id)
        .join(ScaleOption, ReviewAnswer.option_id == ScaleOption.id)
        .order_by(SupervisionPlan.name, Round.period_label, DrawItem.case_ref, ControlPoint.code)
    ).all()
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def test_demo_findings(session):
    build_demo(session, seed=SEED, password="demo-adgang-1", today=TODAY)
    session.commit()
    rounds = session.scalars(select(Round).order_by(Round.plan_id, Round.period_start)).all()
    closed = [r for r in rounds if r.status == RoundStatus.CLOSED]
    current = [r for r in rounds if r.status == RoundStatus.IN_REVIEW]
    assert len(closed) == 40 and len(current) == 5

    # Closed rounds: every sampled case has a completed review answering every point asked.
    schemes = dict(session.execute(select(ControlPoint.id, ControlPoint.schemes)).all())
    asked = defaultdict(list)
    for rcp in session.scalars(select(RoundControlPoint)):
        asked[rcp.round_id].append(rcp.control_point_id)
    answered = defaultdict(set)
    for review_id, cp_id in session.execute(
        select(ReviewAnswer.review_id, ReviewAnswer.control_point_id)
    ):
        answered[review_id].add(cp_id)
    for rnd in closed:
        items = session.scalars(select(DrawItem).where(DrawItem.draw_id == rnd.draw_id)).all()
        reviews = {
            r.draw_item_id: r
            for r in session.scalars(select(CaseReview).where(CaseReview.round_id == rnd.id))
        }
        assert set(reviews) == {it.id for it in items}
        for it in items:
            review = reviews[it.id]
            assert review.status == ReviewStatus.COMPLETED
            expected = {cp for cp in asked[rnd.id] if not schemes[cp] or it.scheme in schemes[cp]}
            assert answered[review.id] == expected
    # The current rounds are partly reviewed, with some drafts.
    progress = [totals(round_progress(session, r)) for r in current]
    assert progress
    assert all(0 < p.completed < p.sampled for p in progress)
    assert sum(p.draft for p in progress) > 0
    outcomes = set(session.scalars(select(ReviewAnswer.outcome).distinct()))
    assert outcomes == {"in_order", "not_in_order", Outcome.NOT_APPLICABLE}
    assert (
        session.scalar(select(CaseReview.id).where(CaseReview.status == ReviewStatus.DRAFT))
        is not None
    )

    # Plausible rates (the audit figures in tilsyn/reviews/demo.py), averaged over the closed
    # rounds' design-weighted estimates.
    estimates = point_estimates(session, [r.id for r in closed])
    by_code = defaultdict(list)
    for e in estimates:
        by_code[e.code].append(e)
    weighted = {c: mean(e.share.estimate for e in es if e.answered) for c, es in by_code.items()}

    def near(code: str, target: float) -> bool:
        """Within 8 points plus three standard errors (design effect 2) of the target."""
        n = sum(e.answered for e in by_code[code])
        return abs(weighted[code] - target) <= 0.08 + 3 * math.sqrt(2 * target * (1 - target) / n)

    assert near("JOBMAAL-01", 0.33)  # a concrete job goal: 26–40 %
    assert near("RETTID-03", 0.68)  # 6 conversations a year
    assert near("CV-01", 0.49)  # CV on Jobnet within 3 weeks
    assert near("RETTID-01", 0.28)  # rehabilitation team within 4 weeks
    assert near("RETTID-02", 0.65)  # re-assessment on time
    overall = mean(e.mean.estimate for e in by_code["SAMLET-01"] if e.mean)
    assert 1.7 <= overall <= 2.05  # the overall 1–3 score (Hedensted 1.81)
    assert weighted["OEKONOMI-01"] > 0.85 and weighted["HELBRED-04"] < 0.6  # varies by point
    assert estimates
    assert all(not e.provisional for e in estimates)

    # A mild improvement over the eight quarters (core points, first four vs last four).
    period = {r.id: r.period_start for r in closed}
    quarters = sorted(set(period.values()))
    core = [e for e in estimates if e.is_core and e.answered]
    early = mean(e.share.estimate for e in core if period[e.round_id] in quarters[:4])
    late = mean(e.share.estimate for e in core if period[e.round_id] in quarters[4:])
    assert 0.0 < late - early < 0.15

    # Risky cases fail more often and are over-sampled: the raw share is lower than the
    # design-weighted estimate, visibly for the fixed core.
    core_diffs = []
    for code in ("JOBMAAL-01", "JOBMAAL-02", "SAMLET-01", "SAMLET-02"):
        raw = mean(e.raw_share for e in by_code[code] if e.answered)
        assert raw < weighted[code], code
        core_diffs.append(raw - weighted[code])
    assert mean(core_diffs) < -0.03
    diffs = [e.raw_share - e.share.estimate for e in estimates if e.answered >= 10]
    assert sum(d < 0 for d in diffs) > 0.6 * len(diffs)

    # Deterministic from the seed: the same generator gives the same findings again.
    digest = findings_digest(session)
    session.execute(delete(ReviewAnswer))
    session.execute(delete(CaseReview))
    actor = session.scalar(select(User).where(User.username == "admin"))
    add_demo_reviews(session, actor, extension_rng(SEED, PATH), TODAY)
    assert findings_digest(session) == digest
    session.execute(delete(ReviewAnswer))
    session.execute(delete(CaseReview))
    add_demo_reviews(session, actor, extension_rng(SEED + 1, PATH), TODAY)
    assert findings_digest(session) != digest
