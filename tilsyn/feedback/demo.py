"""Demo feedback: released reviews (acknowledged and not), comment threads and follow-up
actions in every status, overdue ones included, so every role has something to see.

Registered in :data:`tilsyn.demo.DEMO_EXTENSIONS` after the reviews extension. For every plan:
the caseworkers may see, acknowledge and comment (the leader's first team) or see and
acknowledge (the others), with a follow-up allowance f = 1. The completed reviews of the two
latest closed rounds are released (most of the older ones acknowledged, about half of the
latest), and a third of the current round's completed reviews. Actions are made from findings
"ikke i orden" of the latest closed round; the demo caseworker gets one in each status. Every
choice comes from the extension's own generator in a fixed order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import Outcome
from tilsyn.feedback.models import (
    ActionStatus,
    FeedbackComment,
    FeedbackRelease,
    FollowUpAction,
    Involvement,
    Owner,
    PlanFeedbackSetting,
)
from tilsyn.permissions import Role
from tilsyn.reviews.models import CaseReview, ReviewStatus
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan

ACTION_TEXTS = (
    "Registrér et konkret jobmål i sagen, og gennemgå det med borgeren ved næste samtale.",
    "Planlæg de manglende samtaler, så borgeren får mindst seks om året.",
    "Sørg for, at CV'et ligger på Jobnet, og følg op inden for tre uger.",
    "Book revurderingen og notér fristen i sagen.",
    "Forelæg sagen for rehabiliteringsteamet.",
)
LEADER_ACTION = "Kort opfriskning af reglerne på næste teammøde (systematisk fund i teamet)."
COMMENTS = (
    (
        "Tak for gennemgangen. Jobmålet var aftalt mundtligt, men ikke registreret. "
        "Jeg har rettet det nu.",
        "Godt, tak. Husk at registrere det fremover.",
    ),
    (
        "Samtalen blev aflyst af borgeren to gange; skal det noteres et bestemt sted?",
        "Ja, notér aflysninger i journalen, så kan vi se det ved næste gennemgang.",
    ),
)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0))


def add_demo_feedback(session: Session, actor: User, rng: np.random.Generator, today: date) -> None:
    """Add the demo feedback and actions; flushes, never commits."""
    leader = session.scalar(select(User).where(User.role == Role.TEAMLEDER.value).order_by(User.id))
    own = session.scalar(
        select(User).where(User.role == Role.SAGSBEHANDLER.value, User.caseworker_id.is_not(None))
    )
    own_cw = own.caseworker_id if own is not None else None
    leader_units = leader.unit_ids if leader is not None else frozenset()
    plans = session.scalars(select(SupervisionPlan).order_by(SupervisionPlan.id)).all()
    for plan in plans:
        first_team = plan.unit_id is not None and plan.unit_id in leader_units
        session.add(
            PlanFeedbackSetting(
                plan_id=plan.id,
                involvement=(Involvement.COMMENT if first_team else Involvement.ACKNOWLEDGE).value,
                followup_allowance=1,
            )
        )
    session.flush()
    released = acknowledged = comments = 0
    n_actions: dict[str, int] = defaultdict(int)
    for plan in plans:
        rounds = session.scalars(
            select(Round).where(Round.plan_id == plan.id).order_by(Round.period_start.desc())
        ).all()
        closed = [r for r in rounds if r.status == RoundStatus.CLOSED][:2]
        current = [r for r in rounds if r.status == RoundStatus.IN_REVIEW][:1]
        for index, rnd in enumerate(current + closed):
            is_current = rnd in current
            latest_closed = bool(closed) and rnd is closed[0]
            reviews = session.scalars(
                select(CaseReview)
                .where(CaseReview.round_id == rnd.id, CaseReview.status == ReviewStatus.COMPLETED)
                .options(selectinload(CaseReview.answers), selectinload(CaseReview.draw_item))
                .order_by(CaseReview.id)
            ).all()
            release_day = min(rnd.period_end + timedelta(days=7), today - timedelta(days=2))
            if is_current:
                release_day = today - timedelta(days=1 + index)
            for review in reviews:
                mine = review.caseworker_id == own_cw
                if is_current and not mine and rng.random() > 1 / 3:
                    continue
                rel = FeedbackRelease(
                    review_id=review.id,
                    round_id=rnd.id,
                    caseworker_id=review.caseworker_id,
                    released_at=_at(release_day, 9),
                    released_by_name=leader.username if leader is not None else "system",
                    review_completed_at=review.completed_at,
                    internal_point_ids=[],
                    overall_note_internal=False,
                )
                ack_share = 0.0 if is_current else (0.5 if latest_closed else 0.85)
                if rng.random() < ack_share:
                    rel.seen_at = _at(release_day + timedelta(days=1), 10)
                    rel.acknowledged_at = _at(release_day + timedelta(days=2), 11)
                    rel.acknowledged_by_name = "demo"
                    acknowledged += 1
                session.add(rel)
                released += 1
                if latest_closed and (
                    mine or (rng.random() < 0.1 and comments < 2 * len(COMMENTS))
                ):
                    session.flush()
                    question, answer = COMMENTS[comments % len(COMMENTS)]
                    session.add_all(
                        [
                            FeedbackComment(
                                release_id=rel.id,
                                author_name=review.caseworker.name,
                                author_kind="caseworker",
                                body=question,
                                created_at=_at(release_day + timedelta(days=2), 12),
                            ),
                            FeedbackComment(
                                release_id=rel.id,
                                author_id=leader.id if leader is not None else None,
                                author_name=leader.display_name if leader is not None else "",
                                author_kind="leader",
                                body=answer,
                                created_at=_at(release_day + timedelta(days=3), 9),
                            ),
                        ]
                    )
                    comments += 1
                findings = [a for a in review.answers if a.outcome == Outcome.NOT_IN_ORDER]
                if mine and not is_current:
                    for finding in findings:
                        status = _status(rng, True, n_actions)
                        if status is None:
                            break
                        _add_action(
                            session,
                            review,
                            finding.control_point_id,
                            status,
                            release_day,
                            today,
                            leader,
                            rng,
                        )
                        n_actions[status] += 1
                elif latest_closed and findings and rng.random() < 0.35:
                    status = _status(rng, False, n_actions) or "open"
                    _add_action(
                        session,
                        review,
                        findings[0].control_point_id,
                        status,
                        release_day,
                        today,
                        leader,
                        rng,
                    )
                    n_actions[status] += 1
        if closed and leader is not None and plan.unit_id in leader_units:
            first = session.scalar(
                select(CaseReview)
                .where(
                    CaseReview.round_id == closed[0].id, CaseReview.status == ReviewStatus.COMPLETED
                )
                .order_by(CaseReview.id)
            )
            if first is not None:
                action = _add_action(
                    session,
                    first,
                    None,
                    ActionStatus.OPEN.value,
                    today - timedelta(days=10),
                    today,
                    leader,
                    rng,
                )
                action.owner = Owner.LEADER.value
                action.owner_user_id = leader.id
                action.description = LEADER_ACTION
                action.case_ref = None
                n_actions["leader"] += 1
    session.flush()
    audit.record(
        session,
        actor,
        "demo",
        "feedback",
        None,
        f"Demo: {released} frigivne gennemgange ({acknowledged} kvitteret), {comments} "
        f"dialoger, {sum(v for k, v in n_actions.items() if k != 'mine')} opfølgningspunkter",
        {
            "released": released,
            "acknowledged": acknowledged,
            "actions": sum(v for k, v in n_actions.items() if k != "mine"),
        },
    )


#: The demo caseworker's actions, in order: one in each status, two of them open (one overdue).
_OWN_SEQUENCE = ("open_overdue", "open", "done", "approved", "cancelled")


def _status(rng: np.random.Generator, mine: bool, counts: dict[str, int]) -> str | None:
    """The next status: the demo caseworker's sequence (None when it is used up), else random."""
    if mine:
        used = counts.get("mine", 0)
        if used >= len(_OWN_SEQUENCE):
            return None
        counts["mine"] = used + 1
        return _OWN_SEQUENCE[used]
    return str(rng.choice(["open", "open_overdue", "done", "approved", "approved", "cancelled"]))


def _add_action(
    session: Session,
    review: CaseReview,
    point_id: int | None,
    status: str,
    created: date,
    today: date,
    leader: User | None,
    rng: np.random.Generator,
) -> FollowUpAction:
    text = ACTION_TEXTS[int(rng.integers(len(ACTION_TEXTS)))]
    created = min(created, today - timedelta(days=5))
    overdue = status == "open_overdue"
    due = (
        today - timedelta(days=int(rng.integers(3, 20)))
        if overdue
        else (today + timedelta(days=int(rng.integers(7, 45))))
    )
    if due <= created:
        created = due - timedelta(days=30)
    real = ActionStatus.OPEN.value if overdue else status
    name = leader.username if leader is not None else "system"
    action = FollowUpAction(
        caseworker_id=review.caseworker_id,
        round_id=review.round_id,
        review_id=review.id,
        control_point_id=point_id,
        case_ref=review.draw_item.case_ref,
        description=text,
        owner=Owner.CASEWORKER.value,
        due_date=due,
        status=real,
        created_at=_at(created, 10),
        created_on=created,
        created_by_name=name,
    )
    if real in (ActionStatus.DONE, ActionStatus.APPROVED):
        action.done_at = _at(today - timedelta(days=3), 14)
        action.done_by_name = "demo"
        action.done_note = "Rettet i sagen, og borgeren er orienteret."
    if real == ActionStatus.APPROVED:
        action.approved_at = _at(today - timedelta(days=1), 9)
        action.approved_by_name = name
        action.closed_on = today - timedelta(days=1)
    if real == ActionStatus.CANCELLED:
        action.cancelled_at = _at(today - timedelta(days=2), 9)
        action.cancel_reason = "Sagen er lukket; der er intet at rette."
        action.closed_on = today - timedelta(days=2)
    session.add(action)
    session.flush()
    return action
