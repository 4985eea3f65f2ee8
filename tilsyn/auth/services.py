"""Account services: password hashing, login with throttling, user management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import LoginAttempt, User
from tilsyn.errors import ServiceError
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Verified against when the username is unknown, so timing does not reveal valid usernames.
_DUMMY_HASH = _hasher.hash("tilsyn-dummy-password")


class AccountError(ServiceError):
    """A user-facing (Danish) refusal of an account operation."""


#: The UI languages a user can choose as their preference.
LOCALES: tuple[str, ...] = ("da", "en")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_email(email: str | None) -> str | None:
    """A user's e-mail address, checked and normalised server-side (``None`` when empty).

    One plain address only: no display name, no line breaks, no second recipient (it ends up
    in mail headers). No DNS look-up.
    """
    if email is None or not email.strip():
        return None
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AccountError(_("E-mailadressen er ikke gyldig.")) from exc


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Adgangskoden skal være mindst %(n)d tegn.", n=MIN_PASSWORD_LENGTH))


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None


@dataclass(frozen=True)
class Throttle:
    """Failed-login limits: per username (reset by a successful login) and per client address."""

    max_failures: int = 5
    window_minutes: int = 15
    max_failures_per_ip: int = 20


def recent_failures(session: Session, username: str, window_minutes: int) -> int:
    """Failed logins for ``username`` within the window and after its last successful login."""
    since = utcnow() - timedelta(minutes=window_minutes)
    last_success = session.scalar(
        select(func.max(LoginAttempt.id)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.success.is_(False),
            LoginAttempt.at >= since,
        )
    )
    if last_success is not None:
        stmt = stmt.where(LoginAttempt.id > last_success)
    return int(session.scalar(stmt) or 0)


def recent_failures_from(session: Session, remote_addr: str, window_minutes: int) -> int:
    """Failed logins from ``remote_addr`` within the window, for any username.

    Not reset by a success: one valid account must not let a password sprayer start over.
    """
    since = utcnow() - timedelta(minutes=window_minutes)
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.remote_addr == remote_addr,
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= since,
            )
        )
        or 0
    )


def _refuse(
    session: Session,
    username: str,
    user: User | None,
    remote_addr: str | None,
    action: str,
    summary: str,
    details: dict[str, object],
) -> None:
    """Record a failed or refused attempt (never the password) and its audit event."""
    session.add(LoginAttempt(username=username, success=False, remote_addr=remote_addr))
    session.flush()
    audit.record(
        session,
        None,
        action,
        "user",
        user.id if user is not None else None,
        summary,
        {"username": username, "remote_addr": remote_addr, **details},
        actor_name=audit.ANONYMOUS_ACTOR,
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    remote_addr: str | None,
    throttle: Throttle | None = None,
) -> LoginResult:
    """Check credentials; record the attempt; refuse while the username or address is throttled.

    Failed and refused attempts and the moment a limit is reached are audited (the attempted
    password never is).
    """
    limits = throttle or Throttle()
    username = username.strip().lower()
    user = session.scalar(select(User).where(User.username == username))
    where = remote_addr or "ukendt adresse"
    if recent_failures(session, username, limits.window_minutes) >= limits.max_failures:
        _refuse(
            session,
            username,
            user,
            remote_addr,
            "login_blocked",
            f"Login som {username} afvist (brugernavnet er spærret) fra {where}",
            {"reason": "username"},
        )
        return LoginResult(
            None,
            _(
                "For mange mislykkede forsøg. Prøv igen om %(minutes)d minutter.",
                minutes=limits.window_minutes,
            ),
        )
    if (
        remote_addr is not None
        and recent_failures_from(session, remote_addr, limits.window_minutes)
        >= limits.max_failures_per_ip
    ):
        _refuse(
            session,
            username,
            user,
            remote_addr,
            "login_blocked",
            f"Login som {username} afvist (adressen {where} er spærret)",
            {"reason": "address"},
        )
        return LoginResult(
            None,
            _(
                "For mange mislykkede forsøg fra din adresse. Prøv igen om %(minutes)d minutter.",
                minutes=limits.window_minutes,
            ),
        )
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if ok and user is not None and user.active:
        session.add(LoginAttempt(username=username, success=True, remote_addr=remote_addr))
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        audit.record(session, user, "login", "user", user.id, f"{user.username} loggede ind")
        return LoginResult(user)
    _refuse(
        session,
        username,
        user,
        remote_addr,
        "login_failed",
        f"Mislykket login som {username} fra {where}",
        {"known_user": user is not None, "inactive": user is not None and not user.active},
    )
    if recent_failures(session, username, limits.window_minutes) == limits.max_failures:
        audit.record(
            session,
            None,
            "lockout",
            "user",
            user.id if user is not None else None,
            f"Brugernavnet {username} spærret i {limits.window_minutes} minutter "
            f"efter {limits.max_failures} mislykkede forsøg",
            {"username": username, "remote_addr": remote_addr, "reason": "username"},
        )
    if (
        remote_addr is not None
        and recent_failures_from(session, remote_addr, limits.window_minutes)
        == limits.max_failures_per_ip
    ):
        audit.record(
            session,
            None,
            "lockout",
            "address",
            remote_addr,
            f"Adressen {remote_addr} spærret i {limits.window_minutes} minutter "
            f"efter {limits.max_failures_per_ip} mislykkede forsøg",
            {"remote_addr": remote_addr, "reason": "address"},
        )
    return LoginResult(None, _("Forkert brugernavn eller adgangskode."))


def set_locale(session: Session, actor: User, locale: str) -> None:
    """Store the actor's preferred UI language (``da`` or ``en``)."""
    if locale not in LOCALES:
        raise AccountError(_("Ukendt sprog «%(locale)s».", locale=locale))
    previous = actor.locale
    actor.locale = locale
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "user",
        actor.id,
        f"Sprog for {actor.username} sat til {locale}",
        {"locale": locale, "previous": previous},
    )


def end_sessions(session: Session, actor: User | None, user: User, why: str) -> None:
    """End every session of ``user`` (every device): bump their session version."""
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    audit.record(
        session,
        actor,
        "sessions_ended",
        "user",
        user.id,
        f"Alle sessioner for {user.username} afsluttet ({why})",
        {"reason": why},
    )


def logout(session: Session, actor: User) -> None:
    """Log out: ends every session of the actor, so a cookie copied before is worthless."""
    end_sessions(session, actor, actor, "logget ud")


def change_password(session: Session, actor: User, old: str, new: str) -> None:
    """Change the actor's own password; their other sessions end (the caller keeps the current
    one with :func:`tilsyn.auth.sessions.restamp`)."""
    if not verify_password(actor.password_hash, old):
        raise AccountError(_("Den nuværende adgangskode er forkert."))
    check_password_strength(new)
    actor.password_hash = hash_password(new)
    actor.password_changed_at = utcnow()
    audit.record(session, actor, "password_change", "user", actor.id, "Adgangskode skiftet")
    end_sessions(session, actor, actor, "adgangskode skiftet")


def _resolve_scope(
    session: Session, role: Role, unit_names: list[str], caseworker_initials: str | None
) -> tuple[list[Unit], Caseworker | None]:
    units: list[Unit] = []
    for name in unit_names:
        unit = session.scalar(select(Unit).where(Unit.name == name))
        if unit is None:
            raise AccountError(_("Enheden «%(name)s» findes ikke.", name=name))
        units.append(unit)
    caseworker = None
    if caseworker_initials:
        caseworker = session.scalar(
            select(Caseworker).where(Caseworker.initials == caseworker_initials.strip().upper())
        )
        if caseworker is None:
            raise AccountError(
                _("Sagsbehandleren «%(initials)s» findes ikke.", initials=caseworker_initials)
            )
    if role is Role.TEAMLEDER and not units:
        raise AccountError(_("En teamleder skal lede mindst én enhed."))
    if role is Role.SAGSBEHANDLER and caseworker is None:
        raise AccountError(_("En sagsbehandler-bruger skal knyttes til en sagsbehandler."))
    if role is not Role.TEAMLEDER and units:
        raise AccountError(_("Kun teamledere knyttes til enheder."))
    if role is not Role.SAGSBEHANDLER and caseworker is not None:
        raise AccountError(_("Kun sagsbehandler-brugere knyttes til en sagsbehandler."))
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
        raise AccountError(_("Brugernavnet må kun indeholde bogstaver, tal, punktum, - og _."))
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise AccountError(_("Ukendt rolle «%(role)s».", role=role)) from exc
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(_("Brugernavnet «%(username)s» er optaget.", username=username))
    check_password_strength(password)
    units, caseworker = _resolve_scope(session, role_enum, unit_names or [], caseworker_initials)
    if caseworker is not None and session.scalar(
        select(User.id).where(User.caseworker_id == caseworker.id)
    ):
        raise AccountError(
            _(
                "Sagsbehandleren %(initials)s har allerede en bruger.",
                initials=caseworker.initials,
            )
        )
    user = User(
        username=username,
        display_name=display_name or (caseworker.name if caseworker else username),
        email=normalise_email(email),
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
        raise AccountError(_("Ukendt rolle «%(role)s».", role=role)) from exc
    units, caseworker = _resolve_scope(session, role_enum, unit_names, caseworker_initials)
    if caseworker is not None:
        other = session.scalar(
            select(User.id).where(User.caseworker_id == caseworker.id, User.id != user.id)
        )
        if other:
            raise AccountError(
                _(
                    "Sagsbehandleren %(initials)s har allerede en bruger.",
                    initials=caseworker.initials,
                )
            )
    if user.id == actor.id and (not active or role_enum is not Role.ADMIN):
        raise AccountError(
            _("Du kan ikke fjerne din egen administratorrolle eller deaktivere dig selv.")
        )
    if new_password:
        check_password_strength(new_password)
    email = normalise_email(email)
    ended = [
        why
        for why, changed in (
            ("rolle ændret", user.role != role_enum.value),
            ("enheder ændret", {u.id for u in user.units} != {u.id for u in units}),
            ("sagsbehandler ændret", user.caseworker_id != (caseworker.id if caseworker else None)),
            ("deaktiveret", user.active and not active),
            ("adgangskode nulstillet", bool(new_password)),
        )
        if changed
    ]
    user.role = role_enum.value
    user.display_name = display_name
    user.email = email or None
    user.units = units
    user.caseworker = caseworker
    user.active = active
    if new_password:
        user.password_hash = hash_password(new_password)
        user.password_changed_at = utcnow()
    session.flush()
    if ended:
        end_sessions(session, actor, user, ", ".join(ended))
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
