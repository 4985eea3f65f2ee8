"""Population snapshots imported from case-system exports, and their cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker, Unit


class Snapshot(db.Model):  # type: ignore[name-defined]
    """An immutable population: the open cases of one export, as of a date."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(index=True)
    source_filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mapping_name: Mapped[str] = mapped_column(String(80))
    row_count: Mapped[int]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_by_name: Mapped[str] = mapped_column(String(80))
    #: File kind ("csv"/"xlsx") and, for CSV, the encoding the parser detected.
    file_kind: Mapped[str] = mapped_column(String(10), default="csv")
    encoding: Mapped[str | None] = mapped_column(String(40))

    cases: Mapped[list[Case]] = relationship(back_populates="snapshot", lazy="raise_on_sql")


class Case(db.Model):  # type: ignore[name-defined]
    """One open case in a snapshot. Only mapped, pseudonymous fields are stored."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "case_ref"),
        Index("ix_cases_snapshot_caseworker", "snapshot_id", "caseworker_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    case_ref: Mapped[str] = mapped_column(String(64))
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    #: The caseworker's team as written in the file (the export's own view, kept per snapshot).
    team_in_file: Mapped[str | None] = mapped_column(String(120))
    scheme: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date]
    last_conversation: Mapped[date | None]
    conversations_12m: Mapped[int | None]
    reassessment_due: Mapped[date | None]
    caseworker_changes_12m: Mapped[int | None]
    job_goal: Mapped[bool | None]
    cv_on_jobnet: Mapped[bool | None]
    weekly_hours: Mapped[float | None]
    #: The case's row in the imported file (header = row 1), for traceability and duplicates.
    source_row: Mapped[int | None]

    snapshot: Mapped[Snapshot] = relationship(back_populates="cases")
    caseworker: Mapped[Caseworker] = relationship()
    unit: Mapped[Unit | None] = relationship()


class SnapshotIsImmutable(RuntimeError):
    """Raised when code tries to change a stored snapshot or one of its cases."""


@event.listens_for(Session, "before_flush")
def _refuse_snapshot_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """A snapshot is a fixed population: stored rows are never updated (deleting is allowed)."""
    for obj in session.dirty:
        if isinstance(obj, Snapshot | Case) and session.is_modified(obj, include_collections=False):
            raise SnapshotIsImmutable("Et sagsudtræk kan ikke ændres, når det er indlæst.")
