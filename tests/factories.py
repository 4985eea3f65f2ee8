"""Plain factory functions for tests (no factory library needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.auth.services import hash_password
from tilsyn.extensions import db
from tilsyn.org.models import Caseworker, Unit

PASSWORD = "testpassword"


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


#: Tables whose rows PostgreSQL triggers refuse to delete (audit log, recorded draws).
TRIGGER_PROTECTED = frozenset({"audit_events", "draws", "draw_items"})


def _truncated_tables() -> list[str]:
    """The protected tables plus every table referencing them (TRUNCATE needs them together)."""
    names = set(TRIGGER_PROTECTED)
    grew = True
    while grew:
        more = {
            t.name
            for t in db.metadata.sorted_tables
            if any(fk.column.table.name in names for fk in t.foreign_keys)
        }
        grew = not more <= names
        names |= more
    return sorted(names)


def empty_database(session: Session) -> None:
    """Delete every row. On PostgreSQL the audit log and the draw records refuse DELETE (row
    triggers), so they (and the tables referencing them) are emptied with one TRUNCATE, which
    row triggers do not see; a lock wait fails instead of hanging."""
    tables = list(reversed(db.metadata.sorted_tables))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '30s'"))
        truncated = _truncated_tables()
        session.execute(text(f"TRUNCATE TABLE {', '.join(truncated)}"))
        tables = [table for table in tables if table.name not in truncated]
    for table in tables:
        session.execute(delete(table))
    session.commit()


def make_unit(session: Session, name: str) -> Unit:
    unit = Unit(name=name)
    session.add(unit)
    session.flush()
    return unit


def make_caseworker(
    session: Session,
    initials: str,
    unit: Unit,
    start: date | None = date(2020, 1, 1),
    name: str | None = None,
) -> Caseworker:
    caseworker = Caseworker(
        initials=initials,
        name=name or f"Sagsbehandler {initials}",
        unit=unit,
        employment_start=start,
    )
    session.add(caseworker)
    session.flush()
    return caseworker


def make_user(
    session: Session,
    username: str,
    role: str,
    units: list[Unit] | None = None,
    caseworker: Caseworker | None = None,
) -> User:
    user = User(
        username=username,
        display_name=username.capitalize(),
        password_hash=password_hash(),
        role=role,
        units=units or [],
        caseworker=caseworker,
    )
    session.add(user)
    session.flush()
    return user


@dataclass
class Org:
    unit_a: Unit
    unit_b: Unit
    cw_a1: Caseworker
    cw_a2: Caseworker
    cw_b1: Caseworker
    cw_b2: Caseworker
    users: dict[str, User]


def make_org(session: Session) -> Org:
    unit_a = make_unit(session, "Team A")
    unit_b = make_unit(session, "Team B")
    cw_a1 = make_caseworker(session, "AAA", unit_a)
    cw_a2 = make_caseworker(session, "AAB", unit_a, start=date(2026, 9, 1))
    cw_b1 = make_caseworker(session, "BBA", unit_b)
    cw_b2 = make_caseworker(session, "BBB", unit_b)
    users = {
        "admin": make_user(session, "admin", "admin"),
        "leder": make_user(session, "leder", "teamleder", units=[unit_a]),
        "sagsbehandler": make_user(session, "sagsbehandler", "sagsbehandler", caseworker=cw_a1),
        "sagsbehandler2": make_user(session, "sagsbehandler2", "sagsbehandler", caseworker=cw_b1),
        "direktoer": make_user(session, "direktoer", "direktoer"),
        "revisor": make_user(session, "revisor", "revisor"),
    }
    session.commit()
    return Org(unit_a, unit_b, cw_a1, cw_a2, cw_b1, cw_b2, users)
