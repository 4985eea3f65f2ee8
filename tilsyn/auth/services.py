"""Account services: password hashing, login with throttling, user management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import LoginAttempt, User
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Verified against when the username is unknown, so timing does not reveal valid usernames.
_DUMMY_HASH = _hasher.hash("tilsyn-dummy-password")


class AccountError(ValueError):
    """A user-facing (Danish) refusal of an account operation."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Adgangskoden skal være mindst {MIN_PASSWORD_LENGTH} tegn.")


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None


def recent_failures(session: Session, username: str, window_minutes: int) -> int:
    since = utcnow() - timedelta(minutes=window_minutes)
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= since,
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    remote_addr: str | None,
    max_failures: int = 5,
    window_minutes: int = 15,
) -> LoginResult:
    """Check credentials; record the attempt; refuse while the username is throttled."""
    username = username.strip().lower()
    if recent_failures(session, username, window_minutes) >= max_failures:
        session.add(LoginAttempt(username=username, success=False, remote_addr=remote_addr))
        session.flush()
        return LoginResult(
            None,
            f"For mange mislykkede forsøg. Prøv igen om {window_minutes} minutter.",
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, success=ok, remote_addr=remote_addr))
    if ok and user is not None:
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        audit.record(session, user, "login", "user", user.id, f"{user.username} loggede ind")
        return LoginResult(user)
    session.flush()
    return LoginResult(None, "Forkert brugernavn eller adgangskode.")


def change_password(session: Session, actor: User, old: str, new: str) -> None:
    if not verify_password(actor.password_hash, old):
        raise AccountError("Den nuværende adgangskode er forkert.")
    check_password_strength(new)
    actor.password_hash = hash_password(new)
    actor.password_changed_at = utcnow()
    audit.record(session, actor, "password_change", "user", actor.id, "Adgangskode skiftet")


def _resolve_scope(
    session: Session, role: Role, unit_names: list[str], caseworker_initials: str | None
) -> tuple[list[Unit], Caseworker | None]:
    units: list[Unit] = []
    for name in unit_names:
        unit = session.scalar(select(Unit).where(Unit.name == name))
        if unit is None:
            raise AccountError(f"Enheden «{name}» findes ikke.")
        units.append(unit)
    caseworker = None
    if caseworker_initials:
        caseworker = session.scalar(
            select(Caseworker).where(Caseworker.initials == caseworker_initials.strip().upper())
        )
        if caseworker is None:
            raise AccountError(f"Sagsbehandleren «{caseworker_initials}» findes ikke.")
    if role is Role.TEAMLEDER and not units:
        raise AccountError("En teamleder skal lede mindst én enhed.")
    if role is Role.SAGSBEHANDLER and caseworker is None:
        raise AccountError("En sagsbehandler-bruger skal knyttes til en sagsbehandler.")
    if role is not Role.TEAMLEDER and units:
        raise AccountError("Kun teamledere knyttes til enheder.")
    if role is not Role.SAGSBEHANDLER and caseworker is not None:
        raise AccountError("Kun sagsbehandler-brugere knyttes til en sagsbehandler.")
    return units, caseworker


def create_user(
    session: Session,
    actor: User | None,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    email: str | None = None,
    unit_names: list[str] | None = None,
    caseworker_initials: str | None = None,
) -> User:
    """Create a user with a role and its scope (units for leaders, caseworker for caseworkers)."""
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise AccountError("Brugernavnet må kun indeholde bogstaver, tal, punktum, - og _.")
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise AccountError(f"Ukendt rolle «{role}».") from exc
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"Brugernavnet «{username}» er optaget.")
    check_password_strength(password)
    units, caseworker = _resolve_scope(session, role_enum, unit_names or [], caseworker_initials)
    if caseworker is not None and session.scalar(
        select(User.id).where(User.caseworker_id == caseworker.id)
    ):
        raise AccountError(f"Sagsbehandleren {caseworker.initials} har allerede en bruger.")
    user = User(
        username=username,
        display_name=display_name or (caseworker.name if caseworker else username),
        email=email or None,
        password_hash=hash_password(password),
        role=role_enum.value,
        caseworker=caseworker,
        units=units,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "user",
        user.id,
        f"Bruger {username} oprettet med rollen {role_enum.value}",
        {
            "units": [u.name for u in units],
            "caseworker": caseworker.initials if caseworker else None,
        },
    )
    return user


def update_user(
    session: Session,
    actor: User,
    user: User,
    role: str,
    display_name: str,
    email: str | None,
    unit_names: list[str],
    caseworker_initials: str | None,
    active: bool,
    new_password: str | None = None,
) -> User:
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise AccountError(f"Ukendt rolle «{role}».") from exc
    units, caseworker = _resolve_scope(session, role_enum, unit_names, caseworker_initials)
    if caseworker is not None:
        other = session.scalar(
            select(User.id).where(User.caseworker_id == caseworker.id, User.id != user.id)
        )
        if other:
            raise AccountError(f"Sagsbehandleren {caseworker.initials} har allerede en bruger.")
    if user.id == actor.id and (not active or role_enum is not Role.ADMIN):
        raise AccountError(
            "Du kan ikke fjerne din egen administratorrolle eller deaktivere dig selv."
        )
    user.role = role_enum.value
    user.display_name = display_name
    user.email = email or None
    user.units = units
    user.caseworker = caseworker
    user.active = active
    if new_password:
        check_password_strength(new_password)
        user.password_hash = hash_password(new_password)
        user.password_changed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "user",
        user.id,
        f"Bruger {user.username} ændret",
        {
            "role": role_enum.value,
            "units": [u.name for u in units],
            "caseworker": caseworker.initials if caseworker else None,
            "active": active,
            "password_reset": bool(new_password),
        },
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
