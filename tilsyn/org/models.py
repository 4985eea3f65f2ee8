"""Units (teams), their leaders and caseworkers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tilsyn.extensions import db

if TYPE_CHECKING:
    from tilsyn.auth.models import User

unit_leaders = Table(
    "unit_leaders",
    db.metadata,
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):  # type: ignore[name-defined]
    """A team (*enhed*) led by one or more team leaders."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    caseworkers: Mapped[list[Caseworker]] = relationship(
        back_populates="unit", order_by="Caseworker.initials"
    )
    leaders: Mapped[list[User]] = relationship(secondary=unit_leaders, back_populates="units")

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"


class Caseworker(db.Model):  # type: ignore[name-defined]
    """A caseworker (*sagsbehandler*) as known in the case system by initials."""

    __tablename__ = "caseworkers"

    id: Mapped[int] = mapped_column(primary_key=True)
    initials: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    employment_start: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)

    unit: Mapped[Unit] = relationship(back_populates="caseworkers")

    def __repr__(self) -> str:
        return f"<Caseworker {self.initials}>"
