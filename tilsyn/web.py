"""One commit per request, and service errors turned into flashed messages.

Views never call ``db.session.commit()``. Services flush; after a view has returned a response
below 400 the request's unit of work is committed once (:func:`commit_request`, registered by the
app factory). An exception, an ``abort()`` or an error status rolls the whole request back, so a
request either writes everything it did, or nothing (Indico's ``RH`` discipline).

A view calls a service through :func:`attempt`::

    if attempt(lambda: services.close_round(db.session, current_user, rnd.id),
               success=_("Runden er afsluttet.")):
        return redirect(...)

:func:`attempt` returns a truthy :class:`Attempt` when the service succeeded (and flashes
``success``, a text or a function of the service's result); ``.value`` is the service's result. A
:class:`~tilsyn.errors.ServiceError` rolls back what the request had done, flashes its message
and returns ``False``; a :class:`~tilsyn.errors.ServiceAccessError` answers 403. An
``IntegrityError`` (a concurrent request won a race) rolls back and flashes ``conflict``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from flask import abort, flash, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.routing import IntegerConverter

from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What :func:`attempt` gives back: true when the service succeeded, with its result."""

    ok: bool
    result: Any = None

    def __bool__(self) -> bool:
        return self.ok

    @property
    def value(self) -> T:
        """The service's result; only a successful attempt has one."""
        if not self.ok:
            raise RuntimeError("the service refused: there is no result")
        return cast(T, self.result)


def attempt(
    action: Callable[[], T],
    *,
    success: str | Callable[[T], str] | None = None,
    conflict: str | None = None,
    conflict_category: str = "danger",
    flash_errors: bool = True,
    on_error: Callable[[ServiceError], Any] | None = None,
) -> Attempt[T]:
    """Run ``action``; on a service error roll back, flash it and return a false result.

    ``on_error`` receives a service error instead of it being flashed (e.g. to list its
    problems on the page); ``conflict``/``conflict_category`` is the message for a lost race.
    """
    try:
        value = action()
    except ServiceAccessError:
        db.session.rollback()
        abort(403)
    except ServiceError as exc:
        db.session.rollback()
        if on_error is not None:
            on_error(exc)
        elif flash_errors:
            flash(str(exc), "danger")
        return Attempt(False)
    except IntegrityError:
        db.session.rollback()
        flash(
            conflict or _("En anden har netop ændret det samme. Indlæs siden igen og prøv igen."),
            conflict_category,
        )
        return Attempt(False)
    if success is not None:
        flash(success if isinstance(success, str) else success(value), "success")
    return Attempt(True, value)


def commit_request(response: Any) -> Any:
    """``after_request`` hook: commit the request's work once if the response is a success.

    If the database is unreachable at that moment (stopped, restarted, network), nothing was
    written: the answer is the "try again" page (503) instead of the view's response.
    """
    try:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
    except (OperationalError, InterfaceError):
        return database_unavailable(None)
    return response


def _safe_rollback() -> None:
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; the pool drops it
        db.session.rollback()


def database_unavailable(exc: Exception | None) -> Any:
    """The page for a database that cannot be reached (503). Rendered without the site layout,
    which would ask the unreachable database for the logged-in user."""
    _safe_rollback()
    body = render_template("errors/unavailable.html")
    return make_response(body, 503, {"Retry-After": "30"})


def register_database_errors(app: Any) -> None:
    """Answer a lost database connection anywhere in a view with :func:`database_unavailable`.
    With ``pool_pre_ping`` (config) the next request gets a fresh connection once the database
    is back."""
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)


#: The largest id the database's id columns hold (``INTEGER``: 32 bits on PostgreSQL; SQLite's
#: 64-bit integers hold more, but one bound for both keeps the behaviour the same).
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to 0 … :data:`MAX_ID`: a larger number in a URL matches no route
    (404) instead of overflowing the database driver. Registered as ``int`` by the app factory."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def int_arg(name: str, default: int | None = None) -> int | None:
    """A query-string integer in 0 … :data:`MAX_ID`, else ``default`` (never an overflow)."""
    value = request.args.get(name, type=int)
    if value is None or not 0 <= value <= MAX_ID:
        return default
    return value
