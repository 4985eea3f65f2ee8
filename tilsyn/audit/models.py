"""The audit log: who did what to which object, and when. Rows are never changed.

Append-only is enforced twice: in the ORM (a ``before_flush`` hook refuses changed or deleted
:class:`AuditEvent` objects, on every database) and, on PostgreSQL, in the database itself (a
trigger refuses ``UPDATE`` and ``DELETE`` on ``audit_events``, whoever sends them). The trigger
is created by migration 0004 and, for ``create_all`` (tests), by the DDL events below. SQLite has
only the ORM guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from tilsyn.extensions import db
from tilsyn.models_base import refuse_changes_on_postgresql, utcnow


class AuditEvent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str | None] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("Revisionsloggen kan ikke ændres eller slettes.")


#: PostgreSQL: the function and trigger that refuse changes to audit rows (also in migration 0004).
refuse_changes_on_postgresql(
    [AuditEvent.__table__],
    function="audit_events_refuse_change",
    message="'Revisionsloggen kan ikke ændres eller slettes (' || TG_OP || ' afvist).'",
    trigger_suffix="append_only",
)
