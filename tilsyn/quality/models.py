"""Calibration between leaders: the plan option, the blind second reviews and resolutions.

* :class:`CalibrationSetting` — the plan option: ``cases_per_team`` sampled cases per team in
  each round get a second, blind review by another of the leaders the option names
  (``leader_ids``, chosen round-robin, never the first reviewer).
* :class:`CalibrationCase` — one such case in one round: the assigned second reviewer, the
  second review's status and its answers (:class:`CalibrationAnswer`).
* :class:`CalibrationResolution` — for a control point the two leaders answered differently:
  which answer stands and why. When the second answer stands it replaces the first review's
  answer (the estimates use the first review until then); both original options are kept here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, ScaleOption
from tilsyn.enums import one_of
from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.sampling.models import DrawItem


class SecondStatus(StrEnum):
    """The second review's status (the value is what is stored)."""

    ASSIGNED = "assigned"
    DRAFT = "draft"
    COMPLETED = "completed"


class Standing(StrEnum):
    """Which answer stands after a calibration meeting."""

    FIRST = "first"
    SECOND = "second"


class CalibrationSetting(db.Model):  # type: ignore[name-defined]
    """The calibration option of a supervision plan."""

    __tablename__ = "calibration_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("supervision_plans.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    cases_per_team: Mapped[int] = mapped_column(default=2)
    #: The leaders (user ids) among whom second reviews go round-robin.
    leader_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(80), default="system")


class CalibrationCase(db.Model):  # type: ignore[name-defined]
    """A sampled case of a round that gets a second, blind review."""

    __tablename__ = "calibration_cases"
    __table_args__ = (
        UniqueConstraint("round_id", "draw_item_id"),
        CheckConstraint(one_of("status", SecondStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    draw_item_id: Mapped[int] = mapped_column(ForeignKey("draw_items.id"), index=True)
    #: The team the case counts for (the caseworker's unit when the case was chosen).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=SecondStatus.ASSIGNED.value)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    draw_item: Mapped[DrawItem] = relationship()
    reviewer: Mapped[User] = relationship()
    answers: Mapped[list[CalibrationAnswer]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CalibrationAnswer.id"
    )

    @property
    def is_completed(self) -> bool:
        return self.status == SecondStatus.COMPLETED


class CalibrationAnswer(db.Model):  # type: ignore[name-defined]
    """The second reviewer's answer to one control point version."""

    __tablename__ = "calibration_answers"
    __table_args__ = (UniqueConstraint("case_id", "control_point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_cases.id", ondelete="CASCADE"), index=True
    )
    control_point_id: Mapped[int] = mapped_column(ForeignKey("control_points.id"))
    option_id: Mapped[int] = mapped_column(ForeignKey("scale_options.id"))
    outcome: Mapped[str] = mapped_column(String(20))

    case: Mapped[CalibrationCase] = relationship(back_populates="answers")
    control_point: Mapped[ControlPoint] = relationship()
    option: Mapped[ScaleOption] = relationship()


class CalibrationResolution(db.Model):  # type: ignore[name-defined]
    """Which of two different answers stands, decided at a calibration meeting."""

    __tablename__ = "calibration_resolutions"
    __table_args__ = (
        UniqueConstraint("case_id", "control_point_id"),
        CheckConstraint(one_of("standing", Standing), name="standing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("calibration_cases.id"), index=True)
    control_point_id: Mapped[int] = mapped_column(ForeignKey("control_points.id"))
    standing: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    first_option_id: Mapped[int] = mapped_column(ForeignKey("scale_options.id"))
    second_option_id: Mapped[int] = mapped_column(ForeignKey("scale_options.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_name: Mapped[str] = mapped_column(String(80))
