"""Login sessions: a per-user session version, an idle and an absolute timeout.

Sessions are Flask's signed cookies, so the server keeps no list of them. To end them all the
same, each user has a ``session_version``; a session carries the version it was started with
and stops being valid when the user's version moves on. Logging out, changing or resetting the
password, deactivating the user and changing their role or scope bump the version, so a cookie
captured before any of these no longer opens anything (on any device). A session also ends
after ``SESSION_IDLE_MINUTES`` without a request and ``SESSION_MAX_HOURS`` after the login,
whichever comes first; both instants are carried in the signed cookie and cannot be forged.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

#: Keys in the (signed) Flask session.
VERSION_KEY = "_sv"
LOGIN_AT_KEY = "_login_at"
SEEN_AT_KEY = "_seen_at"
#: The last-seen instant is renewed at most this often (seconds), so most responses do not
#: rewrite the cookie.
TOUCH_EVERY_SECONDS = 60

#: Why a session ended (values of :func:`check`).
REVOKED = "revoked"
IDLE = "idle"
EXPIRED = "expired"


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


def start(cookie: MutableMapping[str, Any], version: int, now: datetime) -> None:
    """Stamp a freshly logged-in session with the user's version and the login time."""
    cookie[VERSION_KEY] = version
    cookie[LOGIN_AT_KEY] = _epoch(now)
    cookie[SEEN_AT_KEY] = _epoch(now)


def restamp(cookie: MutableMapping[str, Any], version: int) -> None:
    """Keep this session valid after the user's own change bumped their version."""
    cookie[VERSION_KEY] = version


def check(
    cookie: MutableMapping[str, Any],
    version: int,
    now: datetime,
    idle_minutes: float,
    max_hours: float,
) -> str | None:
    """``None`` when the session is still valid, else why it is not (:data:`REVOKED`,
    :data:`IDLE` or :data:`EXPIRED`). A session without the stamps (from before this rule) is
    treated as revoked."""
    login_at, seen_at = cookie.get(LOGIN_AT_KEY), cookie.get(SEEN_AT_KEY)
    if cookie.get(VERSION_KEY) != version or not isinstance(login_at, int):
        return REVOKED
    if not isinstance(seen_at, int):
        return REVOKED
    moment = _epoch(now)
    if moment - login_at > max_hours * 3600:
        return EXPIRED
    if moment - seen_at > idle_minutes * 60:
        return IDLE
    if moment - seen_at >= TOUCH_EVERY_SECONDS:
        cookie[SEEN_AT_KEY] = moment
    return None


def forget(cookie: MutableMapping[str, Any]) -> None:
    """Drop the login (Flask-Login's keys and ours) from the cookie, keeping e.g. the language."""
    for key in ("_user_id", "_fresh", "_id", VERSION_KEY, LOGIN_AT_KEY, SEEN_AT_KEY):
        cookie.pop(key, None)
