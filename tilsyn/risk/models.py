"""Stored, versioned risk models: the municipality's documented risk assessment.

A :class:`RiskModelVersion` holds a list of factor dicts (see :mod:`tilsyn.risk.rules`). Versions
are never edited once approved: editing creates a new draft version based on an earlier one.
Exactly one version is approved at a time; approving a draft marks the previous approved
version as superseded. Samples record the version they used.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text, event, inspect
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column, relationship

from tilsyn.enums import LabelledEnum, LabelOf
from tilsyn.extensions import db
from tilsyn.models_base import utcnow


class RiskModelStatus(LabelledEnum):
    """A risk-model version's status (the value is what is stored; lazy labels)."""

    DRAFT = "draft", _l("Kladde")
    APPROVED = "approved", _l("Godkendt")
    SUPERSEDED = "superseded", _l("Afløst")


STATUSES = RiskModelStatus.labels()


class RiskModelVersion(db.Model):  # type: ignore[name-defined]
    __tablename__ = "risk_model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=RiskModelStatus.DRAFT.value, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(80))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_by_name: Mapped[str | None] = mapped_column(String(200), default=None)
    approved_on: Mapped[date | None] = mapped_column(default=None)
    approval_note: Mapped[str] = mapped_column(Text, default="")
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    based_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_model_versions.id"), default=None
    )

    based_on: Mapped[RiskModelVersion | None] = relationship(remote_side=[id])

    status_label = LabelOf(RiskModelStatus, "status")

    @property
    def is_draft(self) -> bool:
        return self.status == RiskModelStatus.DRAFT

    def __repr__(self) -> str:
        return f"<RiskModelVersion {self.number} {self.status}>"


class ApprovedRiskModelIsFrozen(RuntimeError):
    """Raised when code tries to change the content of an approved or superseded version."""


#: Columns that may change after approval: only the move from approved to superseded.
_MUTABLE_AFTER_APPROVAL = frozenset({"status", "superseded_at"})


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_approved(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, RiskModelVersion) and obj.status != RiskModelStatus.DRAFT:
            raise ApprovedRiskModelIsFrozen("En godkendt risikomodel kan ikke slettes.")
    for obj in session.dirty:
        if not isinstance(obj, RiskModelVersion) or not session.is_modified(obj):
            continue
        state: InstanceState[RiskModelVersion] = inspect(obj)
        status_hist = state.attrs.status.history
        old_status = status_hist.deleted[0] if status_hist.deleted else obj.status
        if old_status == RiskModelStatus.DRAFT:
            continue
        changed = {a.key for a in state.attrs if a.history.has_changes()}
        if changed - _MUTABLE_AFTER_APPROVAL or (
            "status" in changed
            and (old_status, obj.status) != (RiskModelStatus.APPROVED, RiskModelStatus.SUPERSEDED)
        ):
            raise ApprovedRiskModelIsFrozen(
                "En godkendt risikomodel kan ikke ændres; opret en ny version."
            )
