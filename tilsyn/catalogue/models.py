"""The catalogue in the database: answer scales, themes and versioned control points.

Codes are stable identities. A control point is never edited in place: every change of its
content adds a new row with the same ``code`` and ``version + 1``; the earlier row stays (with
``active`` false) so that answers given to it keep their meaning. ``comparable_to_id`` links a
version to the previous one when the editor declared the two comparable, which is what allows
results to be followed over time across versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.enums import LabelledEnum, LabelOf
from tilsyn.extensions import db
from tilsyn.models_base import utcnow


class Outcome(LabelledEnum):
    """What an answer option counts as (the value is what is stored; lazy labels)."""

    IN_ORDER = "in_order", _l("I orden")
    NOT_IN_ORDER = "not_in_order", _l("Ikke i orden")
    NOT_APPLICABLE = "not_applicable", _l("Ikke relevant")


OUTCOME_LABELS = Outcome.labels()


class Scale(db.Model):  # type: ignore[name-defined]
    """An answer scale (e.g. Ja / Nej / Ikke relevant)."""

    __tablename__ = "scales"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    options: Mapped[list[ScaleOption]] = relationship(
        back_populates="scale", order_by="ScaleOption.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Scale {self.code}>"


class ScaleOption(db.Model):  # type: ignore[name-defined]
    """One answer option; ``outcome`` says whether it counts as in order."""

    __tablename__ = "scale_options"
    __table_args__ = (UniqueConstraint("scale_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # in_order | not_in_order | not_applicable
    score: Mapped[float | None] = mapped_column(default=None)

    scale: Mapped[Scale] = relationship(back_populates="options")

    outcome_label = LabelOf(Outcome, "outcome")

    @property
    def score_digits(self) -> int:
        """Decimals needed to show the score (3 -> "3", 2.5 -> "2,5")."""
        if self.score is None or float(self.score).is_integer():
            return 0
        return 1 if float(self.score * 10).is_integer() else 2


class Theme(db.Model):  # type: ignore[name-defined]
    """A theme (*tema*). ``is_core`` is the catalogue's suggestion; plans choose their core."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_core: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    control_points: Mapped[list[ControlPoint]] = relationship(
        back_populates="theme", order_by="(ControlPoint.code, ControlPoint.version)"
    )

    @property
    def current_points(self) -> list[ControlPoint]:
        return [cp for cp in self.control_points if cp.active]

    def __repr__(self) -> str:
        return f"<Theme {self.code}>"


class ControlPoint(db.Model):  # type: ignore[name-defined]
    """One version of a control point (*kontrolpunkt*). At most one version per code is active."""

    __tablename__ = "control_points"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(default=1)
    question: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    legal_reference: Mapped[str | None] = mapped_column(String(300), default=None)
    #: Scheme codes the point is asked for; empty list = every scheme.
    schemes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: The previous version this one may be compared with over time (None: a break in the series).
    comparable_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("control_points.id"), default=None
    )
    change_note: Mapped[str] = mapped_column(Text, default="")
    #: A data rule that answers the point from the case export (``tilsyn.risk.data_answers``):
    #: a list of ``{"when": [conditions], "answer": option code}`` clauses; None = no rule.
    data_rule: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(80), default="system")

    scale: Mapped[Scale] = relationship()
    theme: Mapped[Theme] = relationship(back_populates="control_points")
    comparable_to: Mapped[ControlPoint | None] = relationship(remote_side=[id])

    def applies_to(self, scheme: str) -> bool:
        return not self.schemes or scheme in self.schemes

    def __repr__(self) -> str:
        return f"<ControlPoint {self.code} v{self.version}>"
