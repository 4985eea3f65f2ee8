"""Recorded sample draws. A draw and its items are never changed after they are stored.

Immutability is enforced twice: in the ORM (a ``before_flush`` hook refuses changed or deleted
:class:`Draw` and :class:`DrawItem` objects, on every database) and, on PostgreSQL, in the
database itself (triggers refuse ``UPDATE`` and ``DELETE`` on ``draws`` and ``draw_items``,
whoever sends them). The triggers are created by migration 0005 and, for ``create_all`` (tests),
by the DDL events below. SQLite has only the ORM guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tilsyn.cases.models import Snapshot
from tilsyn.enums import LabelledEnum, LabelOf
from tilsyn.extensions import db
from tilsyn.models_base import refuse_changes_on_postgresql, utcnow
from tilsyn.org.models import Caseworker
from tilsyn.risk.models import RiskModelVersion


class DrawPurpose(LabelledEnum):
    """Why a sample was drawn (the value is what is stored; lazy labels)."""

    ROUND = "round", _l("Tilsynsrunde")
    AD_HOC = "ad hoc", _l("Ad hoc")


#: Why a draw was made: code -> label (lazy: rendered in the current UI language).
PURPOSES = DrawPurpose.labels()


class Draw(db.Model):  # type: ignore[name-defined]
    """Everything needed to replay a sample: population, model version, design, seed."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    #: The imported file's SHA-256 (Snapshot.sha256) at draw time.
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the snapshot's stored case rows at draw time (detects later changes).
    population_sha256: Mapped[str] = mapped_column(String(64))
    risk_model_version_id: Mapped[int] = mapped_column(ForeignKey("risk_model_versions.id"))
    #: SHA-256 of the version's factors at draw time.
    factors_sha256: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Caseworker-level attributes used (tenure etc.), frozen: {caseworker id: {attr: value}}.
    caseworker_facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    algorithm: Mapped[str] = mapped_column(String(200))
    algorithm_version: Mapped[str] = mapped_column(String(40))
    #: numpy SeedSequence entropy (up to 128 bits) as a decimal string.
    seed: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(20), default=DrawPurpose.AD_HOC.value)
    note: Mapped[str] = mapped_column(Text, default="")
    sample_size: Mapped[int]
    population_size: Mapped[int]

    snapshot: Mapped[Snapshot] = relationship()
    risk_model_version: Mapped[RiskModelVersion] = relationship()
    items: Mapped[list[DrawItem]] = relationship(
        back_populates="draw", order_by="DrawItem.order", lazy="selectin"
    )

    purpose_label = LabelOf(DrawPurpose, "purpose")


class DrawItem(db.Model):  # type: ignore[name-defined]
    """One selected case, with its risk score and inclusion probability at draw time."""

    __tablename__ = "draw_items"
    __table_args__ = (Index("ix_draw_items_draw_order", "draw_id", "order", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_ref: Mapped[str] = mapped_column(String(64))
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    #: The case's unit at draw time (the case row's unit, else the caseworker's); results per
    #: unit use it, so a caseworker's later move does not rewrite earlier figures.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    scheme: Mapped[str] = mapped_column(String(32))
    stratum: Mapped[str] = mapped_column(String(120))
    risk_score: Mapped[float]
    inclusion_probability: Mapped[float]
    #: Codes of the risk factors that fired for the case.
    factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    order: Mapped[int]

    draw: Mapped[Draw] = relationship(back_populates="items")
    caseworker: Mapped[Caseworker] = relationship()


class DrawIsImmutable(RuntimeError):
    """Raised when code tries to change or delete a recorded draw."""


@event.listens_for(Session, "before_flush")
def _refuse_draw_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Draw | DrawItem):
            raise DrawIsImmutable("En registreret stikprøve kan ikke slettes.")
    for obj in session.dirty:
        if isinstance(obj, Draw | DrawItem) and session.is_modified(obj, include_collections=False):
            raise DrawIsImmutable("En registreret stikprøve kan ikke ændres.")


#: PostgreSQL: the function and triggers that refuse changes to recorded draws (also in migration
#: 0005).
refuse_changes_on_postgresql(
    [Draw.__table__, DrawItem.__table__],
    function="draws_refuse_change",
    message=(
        "'En registreret stikprøve kan ikke ændres eller slettes ('\n"
        "            || TG_OP || ' på ' || TG_TABLE_NAME || ' afvist).'"
    ),
    trigger_suffix="immutable",
)
