"""Supervision plans and their rounds.

A :class:`SupervisionPlan` says how often a unit (or the whole organisation) is supervised, how
the sample is designed, which themes form the fixed core and which rotate. A :class:`Round` is
one period of a plan (``2026-K1``); ``UniqueConstraint(plan_id, period_label)`` is what makes
creating rounds idempotent, also when two schedulers run at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.cases.models import Snapshot
from tilsyn.catalogue.models import ControlPoint, Theme
from tilsyn.enums import LabelledEnum, LabelOf
from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.org.models import Unit
from tilsyn.rounds.periods import Cadence
from tilsyn.sampling.models import Draw
from tilsyn.schemes import scheme_label


class RotationMode(LabelledEnum):
    """How a plan picks a round's rotating themes (the value is what is stored)."""

    SEQUENCE = "sequence", _l("Fast rækkefølge")
    LEADER_CHOICE = "leader_choice", _l("Lederen vælger (med forslag)")


CADENCES = Cadence.labels()
ROTATION_MODES = RotationMode.labels()


class RoundStatus(LabelledEnum):
    """A round's status (the value is what is stored)."""

    PLANNED = "planned", _l("Planlagt")
    DRAWN = "drawn", _l("Stikprøve udtrukket")
    IN_REVIEW = "in_review", _l("Under gennemgang")
    CLOSED = "closed", lazy_pgettext("runde", "Afsluttet")


#: Status labels by stored value (lazy strings, translated when shown).
STATUSES: dict[str, Any] = {status.value: status.label for status in RoundStatus}
#: Rounds that still wait for their review (deadline reminders go out for these).
OPEN_STATUSES = (RoundStatus.PLANNED, RoundStatus.DRAWN, RoundStatus.IN_REVIEW)
WHOLE_ORGANISATION = _l("Hele organisationen")
#: Allowed status changes by hand (the draw moves planned -> drawn).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    RoundStatus.DRAWN: (RoundStatus.IN_REVIEW,),
    RoundStatus.IN_REVIEW: (RoundStatus.CLOSED,),
    RoundStatus.CLOSED: (RoundStatus.IN_REVIEW,),
}

plan_core_themes = Table(
    "plan_core_themes",
    db.metadata,
    Column("plan_id", ForeignKey("supervision_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id"), primary_key=True),
)


class SupervisionPlan(db.Model):  # type: ignore[name-defined]
    __tablename__ = "supervision_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: None = the whole organisation.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None, index=True)
    cadence: Mapped[str] = mapped_column(String(20), default=Cadence.QUARTERLY.value)
    # Sampling design (see tilsyn.sampling.design.DesignParams).
    per_caseworker: Mapped[int] = mapped_column(default=2)
    new_caseworker: Mapped[int] = mapped_column(default=4)
    new_months: Mapped[int] = mapped_column(default=6)
    lam: Mapped[float] = mapped_column(default=1.0)
    by_scheme: Mapped[bool] = mapped_column(default=False)
    #: Cases sampled in the plan's last r rounds are not drawn again.
    exclude_recent_rounds: Mapped[int] = mapped_column(default=1)
    #: Scheme codes the plan covers (control points for other schemes are left out); [] = all.
    schemes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rotation_mode: Mapped[str] = mapped_column(String(20), default=RotationMode.SEQUENCE.value)
    rotating_per_round: Mapped[int] = mapped_column(default=1)
    review_weeks: Mapped[int] = mapped_column(default=6)
    snapshot_max_age_days: Mapped[int] = mapped_column(default=45)
    #: First period the scheduler may create a round for (no catch-up before the plan existed).
    starts_on: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(80), default="system")

    unit: Mapped[Unit | None] = relationship()
    core_themes: Mapped[list[Theme]] = relationship(
        secondary=plan_core_themes, order_by="(Theme.position, Theme.id)"
    )
    rotating: Mapped[list[PlanRotatingTheme]] = relationship(
        back_populates="plan",
        order_by="PlanRotatingTheme.position",
        cascade="all, delete-orphan",
    )

    @property
    def rotating_themes(self) -> list[Theme]:
        return [r.theme for r in self.rotating]

    cadence_label = LabelOf(Cadence, "cadence")

    rotation_label = LabelOf(RotationMode, "rotation_mode")

    @property
    def scheme_labels(self) -> list[str]:
        return [scheme_label(code) for code in self.schemes or []]

    @property
    def scope_label(self) -> str:
        return self.unit.name if self.unit is not None else str(WHOLE_ORGANISATION)

    def __repr__(self) -> str:
        return f"<SupervisionPlan {self.name}>"


class PlanRotatingTheme(db.Model):  # type: ignore[name-defined]
    """A rotating theme of a plan, at its place in the rotation order."""

    __tablename__ = "plan_rotating_themes"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_plans.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    plan: Mapped[SupervisionPlan] = relationship(back_populates="rotating")
    theme: Mapped[Theme] = relationship()


class Round(db.Model):  # type: ignore[name-defined]
    """One supervision round (*tilsynsrunde*): a plan's period with its themes and sample."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("plan_id", "period_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("supervision_plans.id"), index=True)
    period_label: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default=RoundStatus.PLANNED.value, index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"), default=None)
    #: The current draw (earlier draws are kept in RoundDraw).
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"), default=None)
    review_deadline: Mapped[date | None] = mapped_column(default=None)
    waiting_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The leaders have been told about the current ``waiting_reason`` (False: tell them on the
    #: next run, e.g. once someone has an e-mail address).
    waiting_notified: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The rotating themes were picked by the scheduler for a leader-choice plan and wait for
    #: the leader to confirm or change them on the round page.
    themes_provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The leaders have been asked to choose the themes of a provisional round.
    themes_notified: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Day the last deadline reminder was queued (see ``services.reminder_due_on``).
    last_reminder_on: Mapped[date | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_by_name: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    plan: Mapped[SupervisionPlan] = relationship()
    snapshot: Mapped[Snapshot | None] = relationship()
    draw: Mapped[Draw | None] = relationship()
    themes: Mapped[list[RoundTheme]] = relationship(
        back_populates="round",
        cascade="all, delete-orphan",
        order_by="(RoundTheme.is_core.desc(), RoundTheme.position)",
    )
    control_points: Mapped[list[RoundControlPoint]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )
    draw_history: Mapped[list[RoundDraw]] = relationship(
        back_populates="round", order_by="RoundDraw.id", cascade="all, delete-orphan"
    )

    status_label = LabelOf(RoundStatus, "status")

    @property
    def sample_size(self) -> int | None:
        return self.draw.sample_size if self.draw is not None else None

    def __repr__(self) -> str:
        return f"<Round {self.plan_id} {self.period_label}>"


class RoundTheme(db.Model):  # type: ignore[name-defined]
    """A theme asked in a round, fixed core or rotating."""

    __tablename__ = "round_themes"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"), primary_key=True)
    is_core: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="themes")
    theme: Mapped[Theme] = relationship()


class RoundControlPoint(db.Model):  # type: ignore[name-defined]
    """A control point version asked in a round."""

    __tablename__ = "round_control_points"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    control_point_id: Mapped[int] = mapped_column(ForeignKey("control_points.id"), primary_key=True)
    is_core: Mapped[bool] = mapped_column(default=False)

    round: Mapped[Round] = relationship(back_populates="control_points")
    control_point: Mapped[ControlPoint] = relationship()


class RoundDraw(db.Model):  # type: ignore[name-defined]
    """Every draw a round has had. Replacing the draw needs a reason; the old one is kept."""

    __tablename__ = "round_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)
    attached_by_name: Mapped[str] = mapped_column(String(80), default="system")
    replaced_at: Mapped[datetime | None] = mapped_column(default=None)
    replaced_by_name: Mapped[str | None] = mapped_column(String(80), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)

    round: Mapped[Round] = relationship(back_populates="draw_history")
    draw: Mapped[Draw] = relationship()
