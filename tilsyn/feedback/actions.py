"""Follow-up actions (*opfølgningspunkter*): created by a leader from a finding "ikke i orden"
or from a review as a whole; the owner marks them done (åben → udført), the leader approves
(→ godkendt) or sends them back (→ åben); or the leader cancels with a reason (→ annulleret).

Every status change is a conditional UPDATE on the expected status, so the same change twice,
or two changes at once, have one effect; the loser gets a Danish message. An action belongs to
its caseworker's history (also after a move of unit); leaders see the actions of caseworkers in
their units; a deactivated caseworker's actions go to the leaders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import Outcome
from tilsyn.errors import get_or_raise
from tilsyn.feedback import notices
from tilsyn.feedback.common import (
    DESCRIPTION_MAX,
    FeedbackAccessError,
    FeedbackError,
    can_manage,
    check_due_date,
    is_own,
    require_manage,
    require_text,
    round_label,
)
from tilsyn.feedback.models import ActionStatus, FollowUpAction, Owner
from tilsyn.models_base import utcnow
from tilsyn.reviews.models import CaseReview
from tilsyn.rounds.models import Round


def create_action(
    session: Session,
    actor: User | None,
    review_id: int,
    *,
    description: str,
    owner: str,
    due_date: date | None,
    today: date,
    control_point_id: int | None = None,
    with_case: bool = True,
    config: Mapping[str, Any] | None = None,
) -> FollowUpAction:
    """A new open action on a completed review, from one of its findings "ikke i orden"
    (``control_point_id``) or from the review as a whole. Flushes; the owner is told."""
    review = get_or_raise(
        session, CaseReview, review_id, FeedbackError(_("Gennemgangen findes ikke."))
    )
    require_manage(actor, review.caseworker)
    if not review.is_completed:
        raise FeedbackError(_("Opfølgningspunkter oprettes på afsluttede gennemgange."))
    text = require_text(description, _("Hvad skal gøres"), DESCRIPTION_MAX)
    try:
        owner_kind = Owner(owner)
    except ValueError:
        raise FeedbackError(_("Vælg, hvem der ejer opfølgningspunktet.")) from None
    due = check_due_date(due_date, today)
    if control_point_id is not None:
        answer = next((a for a in review.answers if a.control_point_id == control_point_id), None)
        if answer is None or answer.outcome != Outcome.NOT_IN_ORDER:
            raise FeedbackError(
                _("Et opfølgningspunkt kan kun knyttes til et fund, der er «ikke i orden».")
            )
    rnd = session.get(Round, review.round_id)
    assert rnd is not None
    action = FollowUpAction(
        caseworker_id=review.caseworker_id,
        round_id=review.round_id,
        review_id=review.id,
        control_point_id=control_point_id,
        case_ref=review.draw_item.case_ref if with_case else None,
        description=text,
        owner=owner_kind.value,
        owner_user_id=actor.id if owner_kind is Owner.LEADER and actor is not None else None,
        due_date=due,
        created_on=today,
        created_by_name=audit.actor_name(actor),
        status=ActionStatus.OPEN.value,
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "followup_action",
        action.id,
        f"Oprettede opfølgningspunkt #{action.id} for {review.caseworker.initials} "
        f"i {round_label(rnd)} (frist {due:%d-%m-%Y})",
        {"review_id": review.id, "control_point_id": control_point_id, "owner": owner_kind.value},
    )
    subject = f"Nyt opfølgningspunkt #{action.id} med frist {due:%d-%m-%Y}"
    for user in notices.action_owners(session, action):
        if user.id != (actor.id if actor is not None else None):
            notices.notify(session, user, subject, "/opfoelgning/mine", config or {})
    return action


def get_action(session: Session, action_id: int) -> FollowUpAction:
    return get_or_raise(
        session, FollowUpAction, action_id, FeedbackError(_("Opfølgningspunktet findes ikke."))
    )


def _managed_action(session: Session, actor: User | None, action_id: int) -> FollowUpAction:
    """The action, if ``actor`` may manage its caseworker (else ``FeedbackAccessError``)."""
    action = get_action(session, action_id)
    require_manage(actor, action.caseworker)
    return action


def can_mark_done(session: Session, actor: User | None, action: FollowUpAction) -> bool:
    """The owner marks an action done: the caseworker for their own (while active); the leaders
    for leader-owned actions and for those of a deactivated caseworker."""
    if action.owner == Owner.CASEWORKER and action.caseworker.active:
        if is_own(actor, action.caseworker_id):
            return True
        # A caseworker without a login cannot mark it: the leaders step in.
        return can_manage(actor, action.caseworker) and not notices.caseworker_users(
            session, action.caseworker_id
        )
    return can_manage(actor, action.caseworker)


@dataclass(frozen=True)
class _Move:
    """A status change an action may make: from which statuses, to which, and its audit note."""

    allowed_from: tuple[ActionStatus, ...]
    to: ActionStatus
    summary: str


_MARK_DONE = _Move((ActionStatus.OPEN,), ActionStatus.DONE, "åben → udført")
_APPROVE = _Move((ActionStatus.DONE,), ActionStatus.APPROVED, "udført → godkendt")
_REOPEN = _Move((ActionStatus.DONE,), ActionStatus.OPEN, "udført → åben")
_CANCEL = _Move((ActionStatus.OPEN, ActionStatus.DONE), ActionStatus.CANCELLED, "annulleret")


def _transition(
    session: Session,
    actor: User | None,
    action: FollowUpAction,
    move: _Move,
    values: dict[str, Any],
) -> FollowUpAction:
    """Make ``move`` with the extra column ``values``, unless the action's status has changed
    meanwhile (conditional update; FeedbackError then). Audited."""
    result = session.execute(
        update(FollowUpAction)
        .where(
            FollowUpAction.id == action.id,
            FollowUpAction.status.in_([s.value for s in move.allowed_from]),
        )
        .values(status=move.to.value, **values)
        .execution_options(synchronize_session=False)
    )
    before = action.status
    session.refresh(action)
    if getattr(result, "rowcount", 0) != 1:
        raise FeedbackError(
            _(
                "Opfølgningspunkt #%(id)d har status «%(status)s» og kan ikke ændres sådan.",
                id=action.id,
                status=action.status_label,
            )
        )
    audit.record(
        session,
        actor,
        "status",
        "followup_action",
        action.id,
        f"Opfølgningspunkt #{action.id}: {move.summary}",
        {"from": before, "to": move.to.value},
    )
    return action


def mark_done(
    session: Session,
    actor: User | None,
    action_id: int,
    note: str,
    config: Mapping[str, Any] | None = None,
) -> FollowUpAction:
    action = get_action(session, action_id)
    if not can_mark_done(session, actor, action):
        message = _("Kun ejeren kan markere opfølgningspunktet som udført.")
        if can_manage(actor, action.caseworker):
            raise FeedbackError(message)  # the leader sees it, but it is not theirs to mark
        raise FeedbackAccessError(message)
    text = require_text(note, _("Notatet"), DESCRIPTION_MAX)
    values = {"done_at": utcnow(), "done_by_name": audit.actor_name(actor), "done_note": text}
    _transition(session, actor, action, _MARK_DONE, values)
    subject = f"Opfølgningspunkt #{action.id} er markeret udført og venter på godkendelse"
    for leader in notices.unit_leaders(session, action.caseworker):
        if actor is None or leader.id != actor.id:
            notices.notify(session, leader, subject, "/opfoelgning/", config or {})
    return action


def approve(session: Session, actor: User | None, action_id: int, today: date) -> FollowUpAction:
    action = _managed_action(session, actor, action_id)
    values = {
        "approved_at": utcnow(),
        "approved_by_name": audit.actor_name(actor),
        "closed_on": today,
    }
    return _transition(session, actor, action, _APPROVE, values)


def reopen(session: Session, actor: User | None, action_id: int, note: str) -> FollowUpAction:
    """The leader sends a done action back to open, saying why."""
    action = _managed_action(session, actor, action_id)
    text = require_text(note, _("Begrundelsen"), DESCRIPTION_MAX)
    return _transition(session, actor, action, _REOPEN, {"reopen_note": text, "done_at": None})


def cancel(
    session: Session, actor: User | None, action_id: int, reason: str, today: date
) -> FollowUpAction:
    action = _managed_action(session, actor, action_id)
    text = require_text(reason, _("Begrundelsen"), DESCRIPTION_MAX)
    values = {"cancelled_at": utcnow(), "cancel_reason": text, "closed_on": today}
    return _transition(session, actor, action, _CANCEL, values)


def actions_of_review(session: Session, review_id: int) -> list[FollowUpAction]:
    return list(
        session.scalars(
            select(FollowUpAction)
            .where(FollowUpAction.review_id == review_id)
            .order_by(FollowUpAction.id)
        )
    )
