"""Prior findings: each caseworker's share of answers »ikke i orden« in their latest closed round.

The risk factor ``prior_findings`` (:mod:`tilsyn.risk.population`) uses this share. Risk sits
below reviews in the stack, so it does not query reviews itself: the callers that load a
population (the scheduled run, draws, the risk assessment page) compute the shares here and hand
them to :func:`tilsyn.risk.population.load_population` as a plain mapping.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tilsyn.catalogue.models import Outcome
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.rounds.models import Round, RoundStatus


def prior_findings_by_caseworker(session: Session, as_of: date) -> dict[int, float]:
    """{caseworker id: share »ikke i orden«} in each caseworker's latest closed round.

    Only completed reviews count, and only answers in order or not in order (not applicable is
    outside the denominator). The latest round is the closed round with the latest period start
    on or before ``as_of`` in which the caseworker had a completed review.
    """
    counted = ReviewAnswer.outcome.in_((Outcome.IN_ORDER, Outcome.NOT_IN_ORDER))
    rows = session.execute(
        select(
            CaseReview.caseworker_id,
            Round.period_start,
            Round.id,
            func.sum(case((ReviewAnswer.outcome == Outcome.NOT_IN_ORDER, 1), else_=0)),
            func.count(ReviewAnswer.id),
        )
        .join(Round, CaseReview.round_id == Round.id)
        .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
        .where(
            CaseReview.status == ReviewStatus.COMPLETED,
            Round.status == RoundStatus.CLOSED,
            Round.period_start <= as_of,
            counted,
        )
        .group_by(CaseReview.caseworker_id, Round.period_start, Round.id)
    ).all()
    latest: dict[int, tuple[date, int, float]] = {}
    for cw_id, start, round_id, bad, total in rows:
        key = (start, round_id)
        if total and (cw_id not in latest or key > latest[cw_id][:2]):
            latest[int(cw_id)] = (start, round_id, int(bad) / int(total))
    return {cw_id: share for cw_id, (_s, _r, share) in latest.items()}
