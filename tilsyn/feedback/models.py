"""Feedback to caseworkers and follow-up actions (*opfølgningspunkter*): closing the loop.

* :class:`PlanFeedbackSetting`: per supervision plan, the caseworker's involvement
  (:class:`Involvement`) and the sample design's follow-up allowance ``f`` (extra cases in the
  next draw for caseworkers with an open or overdue action at the snapshot date).
* :class:`FeedbackRelease`: a completed review released as feedback to its caseworker (one row
  per review, unique), with the caseworker's acknowledgement and the notes the leader marked
  internal. The review's ``completed_at`` at release is kept, so a review reopened after its
  release shows as changed.
* :class:`FeedbackComment`: the short thread between caseworker and leader on one release.
* :class:`FollowUpAction`: an agreed action from a finding or a review, with owner, due date and
  status (:class:`ActionStatus`).
* :class:`NoticePreference` and :class:`PendingNotice`: single notices or a weekly digest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.enums import LabelledEnum, LabelOf, one_of
from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker
from tilsyn.reviews.models import CaseReview


class Involvement(LabelledEnum):
    """The caseworker's part in a plan's supervision (IBM Cúram's audit-plan involvement)."""

    NONE = "none", _l("Ingen adgang")
    VIEW = "view", _l("Se feedback")
    ACKNOWLEDGE = "acknowledge", _l("Se og kvittere")
    COMMENT = "comment", _l("Se, kvittere og kommentere")


INVOLVEMENT_LABELS = Involvement.labels()
DEFAULT_INVOLVEMENT = Involvement.ACKNOWLEDGE


class ActionStatus(LabelledEnum):
    OPEN = "open", _l("Åben")
    DONE = "done", _l("Udført")
    APPROVED = "approved", _l("Godkendt")
    CANCELLED = "cancelled", _l("Annulleret")


ACTION_STATUS_LABELS = ActionStatus.labels()
#: Statuses in which an action still needs work (counts as "open" for the next sample).
UNFINISHED = (ActionStatus.OPEN, ActionStatus.DONE)
CLOSED_STATUSES = (ActionStatus.APPROVED, ActionStatus.CANCELLED)


class Owner(LabelledEnum):
    CASEWORKER = "caseworker", _l("Sagsbehandleren")
    LEADER = "leader", _l("Lederen")


OWNER_LABELS = Owner.labels()


class PlanFeedbackSetting(db.Model):  # type: ignore[name-defined]
    """Feedback settings of a supervision plan (a plan without a row uses the defaults)."""

    __tablename__ = "plan_feedback_settings"
    __table_args__ = (
        CheckConstraint(one_of("involvement", Involvement), name="involvement"),
        CheckConstraint("followup_allowance >= 0", name="followup_allowance"),
    )

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_plans.id", ondelete="CASCADE"), primary_key=True
    )
    involvement: Mapped[str] = mapped_column(String(12), default=DEFAULT_INVOLVEMENT.value)
    #: f: extra cases for caseworkers with an open or overdue follow-up action.
    followup_allowance: Mapped[int] = mapped_column(default=0)


class FeedbackRelease(db.Model):  # type: ignore[name-defined]
    """A completed review released to its caseworker as feedback."""

    __tablename__ = "feedback_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("case_reviews.id", ondelete="CASCADE"), unique=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: Copied from the review (row scoping without a join).
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by_name: Mapped[str] = mapped_column(String(80))
    #: The review's ``completed_at`` when it was (last) released.
    review_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Ids of control points whose note the leader marked internal.
    internal_point_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    overall_note_internal: Mapped[bool] = mapped_column(default=False)
    #: The caseworker first opened the feedback (unread until then).
    seen_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(80), default=None)
    #: Day the last "not yet acknowledged" reminder was queued.
    last_reminder_on: Mapped[date | None] = mapped_column(default=None)

    review: Mapped[CaseReview] = relationship()
    caseworker: Mapped[Caseworker] = relationship()
    comments: Mapped[list[FeedbackComment]] = relationship(
        back_populates="release", cascade="all, delete-orphan", order_by="FeedbackComment.id"
    )

    @property
    def changed(self) -> bool:
        """The review was reopened (and perhaps completed again) after its release."""
        review = self.review
        return not review.is_completed or review.completed_at != self.review_completed_at


class FeedbackComment(db.Model):  # type: ignore[name-defined]
    """One message in the thread of a release (caseworker or leader)."""

    __tablename__ = "feedback_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_releases.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    author_name: Mapped[str] = mapped_column(String(200))
    #: "caseworker" or "leader".
    author_kind: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    release: Mapped[FeedbackRelease] = relationship(back_populates="comments")


class FollowUpAction(db.Model):  # type: ignore[name-defined]
    """A follow-up action (*opfølgningspunkt*) agreed on a finding or a review."""

    __tablename__ = "followup_actions"
    __table_args__ = (
        CheckConstraint(one_of("status", ActionStatus), name="status"),
        CheckConstraint(one_of("owner", Owner), name="owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The caseworker whose casework the action concerns (their history, also after a move).
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), default=None, index=True)
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_reviews.id", ondelete="SET NULL"), default=None, index=True
    )
    #: The finding (control point version) the action comes from; None: the review as a whole.
    control_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("control_points.id"), default=None, index=True
    )
    #: The case to correct (pseudonymous case reference), if any.
    case_ref: Mapped[str | None] = mapped_column(String(60), default=None)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(12), default=Owner.CASEWORKER.value)
    #: The leader who owns a leader-owned action.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default=ActionStatus.OPEN.value, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_on: Mapped[date]
    created_by_name: Mapped[str] = mapped_column(String(80))
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_by_name: Mapped[str | None] = mapped_column(String(80), default=None)
    done_note: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by_name: Mapped[str | None] = mapped_column(String(80), default=None)
    #: The leader's note when sending a done action back to open.
    reopen_note: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    #: Closed (approved or cancelled) on this day, for counts "closed in the period".
    closed_on: Mapped[date | None] = mapped_column(default=None)
    #: Day the last reminder about this action was queued.
    last_reminder_on: Mapped[date | None] = mapped_column(default=None)

    caseworker: Mapped[Caseworker] = relationship()

    status_label = LabelOf(ActionStatus, "status")

    owner_label = LabelOf(Owner, "owner")

    def overdue_on(self, today: date) -> bool:
        return self.status == ActionStatus.OPEN and self.due_date < today


class NoticePreference(db.Model):  # type: ignore[name-defined]
    """A user's choice between single notices and a weekly digest."""

    __tablename__ = "notice_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    weekly_digest: Mapped[bool] = mapped_column(default=False)
    last_digest_on: Mapped[date | None] = mapped_column(default=None)


class PendingNotice(db.Model):  # type: ignore[name-defined]
    """A notice held back for a user's weekly digest (no case content, like every notice)."""

    __tablename__ = "pending_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    digested_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
