"""Writing and reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tilsyn.audit.models import AuditEvent

if TYPE_CHECKING:
    from tilsyn.auth.models import User

SYSTEM_ACTOR = "system"


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``actor`` None means the system (scheduler, CLI without user)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else SYSTEM_ACTOR,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary,
        details=details,
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _filtered(filters: AuditFilter) -> Select[Any]:
    stmt = select(AuditEvent)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_name == filters.actor)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt


def search(
    session: Session, filters: AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    """Return one page of matching events (newest first) and the total count."""
    stmt = _filtered(filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), int(total)


def distinct_values(session: Session) -> dict[str, list[str]]:
    """Values offered in the audit filter form."""
    return {
        "actions": list(
            session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        ),
        "object_types": list(
            session.scalars(
                select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
            )
        ),
    }
