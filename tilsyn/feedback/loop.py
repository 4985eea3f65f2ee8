"""Closing the loop: what lower packages get from feedback, as plain data.

Nothing below ``feedback`` imports this module; the top of the stack (the app factory, the
scheduler, the round draw) calls these functions and hands the results down:

* :func:`followup_allowance`: caseworker id → extra cases (the plan's follow-up allowance f)
  and the reason, for caseworkers with an open or overdue follow-up action at the snapshot
  date. The draw gives them n + f cases and records why.
* :func:`open_action_counts`: caseworker id → number of follow-up actions open at a date, the
  caseworker attribute behind the risk factor "open follow-up actions on the caseworker".
* :func:`review_hints`: for the review form, per control point code, the caseworker's answers
  in the previous rounds of the plan and any open action.

An action counts as *open at a date* when it was created on or before the date and was not yet
closed (approved or cancelled) on that date; "done" but not yet approved is still open (the
leader has not verified it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from tilsyn.catalogue.models import ControlPoint, Outcome
from tilsyn.feedback.common import plan_setting
from tilsyn.feedback.models import UNFINISHED, FollowUpAction
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.rounds.models import Round

#: Previous rounds shown on the review form.
HINT_ROUNDS = 2


def open_at(as_of: date) -> ColumnElement[bool]:
    """SQL condition on :class:`FollowUpAction`: open at the end of ``as_of``."""
    return and_(
        FollowUpAction.created_on <= as_of,
        or_(
            FollowUpAction.status.in_([s.value for s in UNFINISHED]),
            FollowUpAction.closed_on > as_of,
        ),
    )


def open_action_counts(session: Session, as_of: date) -> dict[int, int]:
    """Caseworker id → follow-up actions open at ``as_of`` (absent: none)."""
    counts: dict[int, int] = defaultdict(int)
    for (cw_id,) in session.execute(select(FollowUpAction.caseworker_id).where(open_at(as_of))):
        counts[int(cw_id)] += 1
    return dict(counts)


class ExtraCases(NamedTuple):
    """Extra cases for one caseworker in a draw, with the reason recorded in the draw (a plain
    ``(extra, reason)`` tuple for the packages below)."""

    extra: int
    reason: str


def followup_allowance(session: Session, plan_id: int, as_of: date) -> dict[int, ExtraCases]:
    """Caseworker id → f extra cases for those with an open or overdue follow-up action at the
    snapshot date ``as_of`` (empty when the plan's f is 0). The reason is Danish (it is
    recorded with the draw): which actions, and whether one was overdue."""
    f = plan_setting(session, plan_id).followup_allowance
    if f <= 0:
        return {}
    per_cw: dict[int, list[FollowUpAction]] = defaultdict(list)
    for action in session.scalars(
        select(FollowUpAction).where(open_at(as_of)).order_by(FollowUpAction.id)
    ):
        per_cw[action.caseworker_id].append(action)
    out: dict[int, ExtraCases] = {}
    for cw_id, actions in sorted(per_cw.items()):
        ids = ", ".join(f"#{a.id}" for a in actions)
        overdue = any(a.due_date < as_of for a in actions)
        kind = "overskredet" if overdue else "åbent"
        out[cw_id] = ExtraCases(
            f, f"{kind} opfølgningspunkt {ids} pr. {as_of:%d-%m-%Y}: n + {f} sager"
        )
    return out


@dataclass
class ReviewHint:
    """What the review form shows beside one control point (already formatted)."""

    previous: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def review_hints(session: Session, round_id: int, caseworker_id: int) -> dict[str, ReviewHint]:
    """Control point code → the caseworker's answers in the plan's previous rounds (newest
    first, at most :data:`HINT_ROUNDS`) and the caseworker's open actions on that point."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        return {}
    earlier = session.scalars(
        select(Round)
        .where(Round.plan_id == rnd.plan_id, Round.period_start < rnd.period_start)
        .order_by(Round.period_start.desc())
        .limit(HINT_ROUNDS)
    ).all()
    hints: dict[str, ReviewHint] = defaultdict(ReviewHint)
    labels = {r.id: r.period_label for r in earlier}
    rows = session.execute(
        select(CaseReview.round_id, ControlPoint.code, ReviewAnswer.outcome)
        .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
        .join(ControlPoint, ReviewAnswer.control_point_id == ControlPoint.id)
        .where(
            CaseReview.round_id.in_(list(labels)),
            CaseReview.caseworker_id == caseworker_id,
            CaseReview.status == ReviewStatus.COMPLETED,
        )
    ).all()
    tally: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for round_ref, code, outcome in rows:
        tally[(code, round_ref)][outcome or ""] += 1
    for r in earlier:
        for (code, round_ref), counts in sorted(tally.items()):
            if round_ref != r.id:
                continue
            answered = counts[Outcome.IN_ORDER] + counts[Outcome.NOT_IN_ORDER]
            if not answered:
                continue
            outcome = _("ikke i orden") if counts[Outcome.NOT_IN_ORDER] else _("i orden")
            hints[code].previous.append(
                _(
                    "%(period)s: %(outcome)s (%(bad)d af %(n)d sager ikke i orden)",
                    period=r.period_label,
                    outcome=outcome,
                    bad=counts[Outcome.NOT_IN_ORDER],
                    n=answered,
                )
            )
    actions = session.execute(
        select(FollowUpAction, ControlPoint.code)
        .join(ControlPoint, FollowUpAction.control_point_id == ControlPoint.id)
        .where(
            FollowUpAction.caseworker_id == caseworker_id,
            FollowUpAction.status.in_([s.value for s in UNFINISHED]),
        )
        .order_by(FollowUpAction.due_date)
    ).all()
    for action, code in actions:
        hints[code].actions.append(
            _(
                "opfølgning #%(id)d %(status)s, frist %(due)s",
                id=action.id,
                status=action.status_label.lower(),
                due=f"{action.due_date:%d-%m-%Y}",
            )
        )
    return dict(hints)
