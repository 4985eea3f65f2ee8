"""The mail outbox: every notification is stored first and delivered (with retries) later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tilsyn.extensions import db
from tilsyn.models_base import utcnow


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """One e-mail waiting for (or past) delivery. Nothing is deleted when sending fails."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def pending(self) -> bool:
        return self.sent_at is None
