"""Managing units (teams) and caseworkers."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.errors import ServiceError
from tilsyn.org.models import Caseworker, Unit


class OrgError(ServiceError):
    """A user-facing (Danish) refusal."""


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.name)))


def list_caseworkers(session: Session) -> list[Caseworker]:
    return list(session.scalars(select(Caseworker).order_by(Caseworker.initials)))


def unit_by_name(session: Session, name: str) -> Unit | None:
    return session.scalar(select(Unit).where(func.lower(Unit.name) == name.strip().lower()))


def caseworker_by_initials(session: Session, initials: str) -> Caseworker | None:
    return session.scalar(select(Caseworker).where(Caseworker.initials == initials.strip().upper()))


def save_unit(
    session: Session, actor: User | None, name: str, active: bool = True, unit: Unit | None = None
) -> Unit:
    name = " ".join(name.split())
    if not name:
        raise OrgError(_("Enheden skal have et navn."))
    clash = unit_by_name(session, name)
    if clash is not None and clash is not unit:
        raise OrgError(_("Der findes allerede en enhed ved navn «%(name)s».", name=name))
    created = unit is None
    if unit is None:
        unit = Unit(name=name, active=active)
        session.add(unit)
    else:
        unit.name, unit.active = name, active
    audit.record_save(session, actor, created, "unit", unit, f"Enhed {name}")
    return unit


def save_caseworker(
    session: Session,
    actor: User | None,
    initials: str,
    name: str,
    unit: Unit,
    employment_start: date | None,
    active: bool = True,
    caseworker: Caseworker | None = None,
) -> Caseworker:
    initials = initials.strip().upper()
    if not initials or len(initials) > 20:
        raise OrgError(_("Initialer skal være 1–20 tegn."))
    clash = caseworker_by_initials(session, initials)
    if clash is not None and clash is not caseworker:
        raise OrgError(_("Initialerne «%(initials)s» er allerede i brug.", initials=initials))
    created = caseworker is None
    if caseworker is None:
        caseworker = Caseworker(initials=initials, name=name.strip() or initials, unit=unit)
        session.add(caseworker)
    caseworker.initials = initials
    caseworker.name = name.strip() or initials
    caseworker.unit = unit
    caseworker.employment_start = employment_start
    caseworker.active = active
    summary = f"Sagsbehandler {initials} ({unit.name})"
    audit.record_save(session, actor, created, "caseworker", caseworker, summary)
    return caseworker


def tenure_months(caseworker: Caseworker, as_of: date) -> float | None:
    """Whole-and-fractional months employed at ``as_of`` (None if start date unknown)."""
    if caseworker.employment_start is None:
        return None
    return max((as_of - caseworker.employment_start).days, 0) / 30.4375
