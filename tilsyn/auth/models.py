"""User accounts and login attempts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.extensions import db
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker, Unit, unit_leaders


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """A person who logs in. ``role`` is one of :class:`tilsyn.permissions.Role`."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    caseworker_id: Mapped[int | None] = mapped_column(
        ForeignKey("caseworkers.id"), unique=True, default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Bumped to end every session of the user (see :mod:`tilsyn.auth.sessions`).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    caseworker: Mapped[Caseworker | None] = relationship()
    units: Mapped[list[Unit]] = relationship(
        secondary=unit_leaders, back_populates="leaders", order_by="Unit.name"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset(unit.id for unit in self.units)

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class LoginAttempt(db.Model):  # type: ignore[name-defined]
    """One login attempt; failures within a window throttle further attempts."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
