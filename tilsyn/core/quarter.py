"""The leader's quarter at a glance: the current round of each of the leader's plans with its
status, deadline, days left, progress and the next thing to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.feedback.attention import releasable_counts
from tilsyn.org.models import Unit
from tilsyn.permissions import can_manage_plan, visible_plans_filter
from tilsyn.reviews.progress import ProgressTotals, next_unreviewed_item, round_progress, totals
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.plans import visible_rounds
from tilsyn.sampling.models import DrawItem


@dataclass(frozen=True)
class RoundCard:
    """One plan's current round on the leader's start page."""

    plan: SupervisionPlan
    round: Round
    progress: ProgressTotals
    days_left: int
    overdue: bool
    #: "review" (with ``next_item``), "release" (completed reviews not yet released as
    #: feedback), "close", or "" (nothing to do now).
    action: str
    next_item: DrawItem | None = None
    releasable: int = 0


def current_round(session: Session, plan: SupervisionPlan, today: date) -> Round | None:
    """The plan's latest round that has begun (period start on or before ``today``)."""
    return session.scalar(
        select(Round)
        .where(Round.plan_id == plan.id, Round.period_start <= today)
        .order_by(Round.period_start.desc())
        .limit(1)
    )


def round_cards(session: Session, actor: User, today: date) -> list[RoundCard]:
    """The current round of every plan the actor manages, overdue ones first."""
    plans = session.scalars(
        select(SupervisionPlan)
        .where(visible_plans_filter(actor, SupervisionPlan.unit_id))
        .order_by(SupervisionPlan.name)
    ).all()
    current = [
        (plan, rnd)
        for plan in plans
        if can_manage_plan(actor, plan) and (rnd := current_round(session, plan, today))
    ]
    releasable = releasable_counts(session, actor, [rnd.id for _plan, rnd in current])
    cards = []
    for plan, rnd in current:
        to_release = releasable.get(rnd.id, 0)
        progress = totals(round_progress(session, rnd, actor))
        is_open = rnd.status != RoundStatus.CLOSED
        action, following = "", None
        if is_open and rnd.draw_id is not None and progress.remaining:
            following = next_unreviewed_item(session, actor, rnd)
            action = "review" if following is not None else ""
        if not action and to_release:
            action = "release"
        elif not action and rnd.status == RoundStatus.IN_REVIEW and not progress.remaining:
            action = "close"
        deadline = rnd.review_deadline or rnd.period_end
        days_left = (deadline - today).days
        cards.append(
            RoundCard(
                plan,
                rnd,
                progress,
                days_left,
                is_open and days_left < 0,
                action,
                following,
                to_release,
            )
        )
    cards.sort(key=lambda c: (not c.overdue, c.days_left))
    return cards


def unit_rounds(session: Session, actor: User, unit: Unit) -> list[Round]:
    """The rounds of the unit's plans the actor may see, newest first."""
    return list(
        session.scalars(
            visible_rounds(actor, SupervisionPlan.unit_id == unit.id).order_by(
                Round.period_start.desc(), SupervisionPlan.name
            )
        )
    )
