"""Case reviews (*gennemgang*): the findings recorded for each sampled case of a round.

A :class:`CaseReview` is the review of one draw item (a sampled case) in one round; a
:class:`ReviewAnswer` is the answer to one control point *version* in it. The answer keeps the
outcome (and score) of the chosen option as it was when the answer was given, so later edits of a
scale never change recorded findings. ``caseworker_id`` is copied from the draw item so that row
scoping needs no join through the draw.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.catalogue.models import ControlPoint, Outcome, ScaleOption
from tilsyn.enums import LabelledEnum, LabelOf, one_of
from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker
from tilsyn.sampling.models import DrawItem


class ReviewStatus(LabelledEnum):
    """A review's status (the value is what is stored; lazy labels)."""

    DRAFT = "draft", _l("Kladde")
    COMPLETED = "completed", _l("Afsluttet")


NOT_STARTED_LABEL = _l("Ikke påbegyndt")
OUTCOMES = (Outcome.IN_ORDER, Outcome.NOT_IN_ORDER, Outcome.NOT_APPLICABLE)


class CaseReview(db.Model):  # type: ignore[name-defined]
    """The review of one sampled case in one round (draft until completed)."""

    __tablename__ = "case_reviews"
    __table_args__ = (
        UniqueConstraint("round_id", "draw_item_id"),
        CheckConstraint(one_of("status", ReviewStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: (The unique constraint's index on (round_id, draw_item_id) serves lookups by round.)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    draw_item_id: Mapped[int] = mapped_column(ForeignKey("draw_items.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    #: Copied from the draw item (row scoping without a join through the draw).
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewer_name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.DRAFT.value)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    overall_note: Mapped[str] = mapped_column(Text, default="")
    #: Bumped by every UPDATE, which checks it (lost-update protection, see
    #: :mod:`tilsyn.reviews.conflicts`).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    draw_item: Mapped[DrawItem] = relationship()
    caseworker: Mapped[Caseworker] = relationship()
    answers: Mapped[list[ReviewAnswer]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewAnswer.id"
    )

    status_label = LabelOf(ReviewStatus, "status")

    @property
    def is_completed(self) -> bool:
        return self.status == ReviewStatus.COMPLETED

    def __repr__(self) -> str:
        return f"<CaseReview round={self.round_id} item={self.draw_item_id} {self.status}>"


class ReviewAnswer(db.Model):  # type: ignore[name-defined]
    """The answer to one control point version in a review.

    A draft may hold a note without an answer yet (``option_id`` and ``outcome`` both empty); a
    completed review has an option for every control point that applies to the case.
    """

    __tablename__ = "review_answers"
    __table_args__ = (
        UniqueConstraint("review_id", "control_point_id"),
        CheckConstraint("outcome IS NULL OR " + one_of("outcome", Outcome), name="outcome"),
        CheckConstraint(
            "(option_id IS NULL AND outcome IS NULL) OR "
            "(option_id IS NOT NULL AND outcome IS NOT NULL)",
            name="option_outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("case_reviews.id", ondelete="CASCADE"), index=True
    )
    control_point_id: Mapped[int] = mapped_column(ForeignKey("control_points.id"), index=True)
    option_id: Mapped[int | None] = mapped_column(ForeignKey("scale_options.id"), default=None)
    #: The option's outcome when the answer was given.
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    #: The option's score when the answer was given (1–3 scales), else None.
    score: Mapped[float | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    #: The option the control point's data rule gave from the snapshot (the prefilled answer),
    #: None when the point has no rule or the rule gave no answer for the case.
    prefill_option_id: Mapped[int | None] = mapped_column(
        ForeignKey("scale_options.id"), default=None
    )
    #: Why the leader chose another answer than the prefilled one (required then).
    override_reason: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[CaseReview] = relationship(back_populates="answers")
    control_point: Mapped[ControlPoint] = relationship()
    option: Mapped[ScaleOption | None] = relationship(foreign_keys=[option_id])
    prefill_option: Mapped[ScaleOption | None] = relationship(foreign_keys=[prefill_option_id])

    @property
    def prefilled(self) -> bool:
        return self.prefill_option_id is not None

    @property
    def overridden(self) -> bool:
        """A prefilled answer the leader changed (with a reason)."""
        return (
            self.prefill_option_id is not None
            and self.option_id is not None
            and self.option_id != self.prefill_option_id
        )

    outcome_label = LabelOf(Outcome, "outcome")
