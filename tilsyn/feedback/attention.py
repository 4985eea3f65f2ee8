"""What needs the leader: feedback waiting for the caseworker's acknowledgement, notices waiting
for the leader's weekly digest, and completed reviews not yet released as feedback.

(Open follow-up actions come from :func:`tilsyn.feedback.pages.leader_actions`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.feedback.models import FeedbackRelease, PendingNotice
from tilsyn.feedback.notices import ACK_REMINDER_DAYS
from tilsyn.org.models import Caseworker
from tilsyn.permissions import caseworker_filter
from tilsyn.reviews.models import CaseReview, ReviewStatus


@dataclass(frozen=True)
class WaitingFeedback:
    """Released feedback the caseworker has not acknowledged yet."""

    release: FeedbackRelease
    case_ref: str
    initials: str
    days: int
    #: Older than the reminder threshold (``FEEDBACK_ACK_REMINDER_DAYS``).
    overdue: bool


def ack_threshold(config: Mapping[str, Any]) -> int:
    return int(config.get("FEEDBACK_ACK_REMINDER_DAYS", ACK_REMINDER_DAYS))


def unacknowledged(
    session: Session, actor: User, today: date, threshold_days: int
) -> list[WaitingFeedback]:
    """Unacknowledged releases to the caseworkers of the actor's units, oldest first; audited.
    ``threshold_days`` <= 0 marks none as overdue."""
    releases = session.scalars(
        select(FeedbackRelease)
        .join(Caseworker, FeedbackRelease.caseworker_id == Caseworker.id)
        .where(FeedbackRelease.acknowledged_at.is_(None), caseworker_filter(actor))
        .options(
            selectinload(FeedbackRelease.review).selectinload(CaseReview.draw_item),
            selectinload(FeedbackRelease.caseworker),
        )
        .order_by(FeedbackRelease.released_at, FeedbackRelease.id)
    ).all()
    lines = []
    for release in releases:
        days = (today - release.released_at.date()).days
        lines.append(
            WaitingFeedback(
                release,
                release.review.draw_item.case_ref,
                release.caseworker.initials,
                days,
                threshold_days > 0 and days >= threshold_days,
            )
        )
    audit.record(
        session,
        actor,
        "view",
        "unacknowledged_feedback",
        None,
        f"Viste {len(lines)} feedback, som ikke er kvitteret",
    )
    return lines


def pending_notices(session: Session, actor: User) -> list[PendingNotice]:
    """The actor's reminders and notices waiting for the next weekly digest, oldest first."""
    return list(
        session.scalars(
            select(PendingNotice)
            .where(PendingNotice.user_id == actor.id, PendingNotice.digested_at.is_(None))
            .order_by(PendingNotice.created_at, PendingNotice.id)
        )
    )


def releasable_counts(session: Session, actor: User, round_ids: list[int]) -> dict[int, int]:
    """Per round: completed reviews (of the actor's caseworkers) not released yet, or changed
    since their release."""
    if not round_ids:
        return {}
    rows = session.execute(
        select(CaseReview, FeedbackRelease)
        .join(Caseworker, CaseReview.caseworker_id == Caseworker.id)
        .outerjoin(FeedbackRelease, FeedbackRelease.review_id == CaseReview.id)
        .where(
            CaseReview.round_id.in_(round_ids),
            CaseReview.status == ReviewStatus.COMPLETED,
            caseworker_filter(actor),
        )
    ).all()
    counts: dict[int, int] = {}
    for review, release in rows:
        if release is None or release.changed:
            counts[review.round_id] = counts.get(review.round_id, 0) + 1
    return counts
