"""Which snapshot is current."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.cases.models import Snapshot


def latest_snapshot(session: Session) -> Snapshot | None:
    """The snapshot with the latest as-of date (the newest import on a tie)."""
    return session.scalar(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc()))
