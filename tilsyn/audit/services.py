"""Writing and reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tilsyn.audit.models import AuditEvent

if TYPE_CHECKING:
    from tilsyn.auth.models import User

SYSTEM_ACTOR = "system"


def actor_name(actor: User | None) -> str:
    """The name recorded for an actor: the username, or ``system`` for jobs and commands."""
    return actor.username if actor is not None else SYSTEM_ACTOR


#: Actor name of events caused by someone not logged in (failed logins).
ANONYMOUS_ACTOR = "anonym"


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
    *,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one audit event.

    ``actor`` None means the system (scheduler, CLI without user), or whoever ``actor_name``
    names (e.g. :data:`ANONYMOUS_ACTOR` for a failed login).
    """
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else (actor_name or SYSTEM_ACTOR),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary,
        details=details,
    )
    session.add(event)
    session.flush()
    return event


class Saved(Protocol):
    """A saved row: anything with an ``id`` once flushed."""

    @property
    def id(self) -> int: ...


def record_save(
    session: Session,
    actor: User | None,
    created: bool,
    object_type: str,
    saved: Saved,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Flush an editor's save (so that a new ``saved`` row has its id) and record it as
    ``create`` (``created``) or ``update``."""
    session.flush()
    return record(
        session, actor, "create" if created else "update", object_type, saved.id, summary, details
    )


#: The time zone whose calendar days the date filters mean (the UI shows times in it).
LOCAL_TIMEZONE = "Europe/Copenhagen"


@dataclass(frozen=True)
class AuditFilter:
    """Filter values; ``date_from``/``date_to`` are whole local days in ``timezone``."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    timezone: str = LOCAL_TIMEZONE


def local_day_start_utc(day: date, timezone: str) -> datetime:
    """The UTC instant (naive, as stored) at which ``day`` begins in ``timezone``."""
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def _filtered(filters: AuditFilter) -> Select[Any]:
    stmt = select(AuditEvent)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_name == filters.actor)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.date_from:
        start = local_day_start_utc(filters.date_from, filters.timezone)
        stmt = stmt.where(AuditEvent.at >= start)
    if filters.date_to:
        end = local_day_start_utc(filters.date_to + timedelta(days=1), filters.timezone)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt


def search(
    session: Session, filters: AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    """Return one page of matching events (newest first) and the total count. A page number
    outside 1 … the last page is clamped to it (no overflowing OFFSET)."""
    stmt = _filtered(filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = min(max(page, 1), max((int(total) + per_page - 1) // per_page, 1))
    rows = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
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
