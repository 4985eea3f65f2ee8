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

The shapes every form view shares are here too: :func:`submit` (validate a form, then
:func:`attempt`), :func:`redirect_back` (to a posted ``next`` path on this site, see
:func:`safe_next`), :func:`new_or_edit` (the route pair of a create-or-edit page) and
:func:`optional_or_404` (its row, or None on the "new" route), :func:`chosen_or_400` (the row a
select field chose), and :func:`page_or_404` (a page's data, or 403/404 from the service's
refusal).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.extensions import db

T = TypeVar("T")
M = TypeVar("M")
V = TypeVar("V", bound=Callable[..., Any])

#: What an invalid form (most often an expired CSRF token) is told.
FORM_EXPIRED = _l("Formularen er udløbet. Prøv igen.")


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


def submit(
    form: Any,
    action: Callable[[], T],
    *,
    invalid: Any = None,
    success: str | Callable[[T], str] | None = None,
    on_error: Callable[[ServiceError], Any] | None = None,
) -> Attempt[T]:
    """Validate ``form``; if it is valid, :func:`attempt` ``action`` (with ``success`` and
    ``on_error``). An invalid form flashes ``invalid`` (e.g. :data:`FORM_EXPIRED`) if one is
    given, calls nothing and gives a false :class:`Attempt`: the view then shows the form again
    with its field errors, or redirects."""
    if not form.validate_on_submit():
        if invalid is not None:
            flash(str(invalid), "danger")
        return Attempt(False)
    return attempt(action, success=success, on_error=on_error)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/…``), else None: never a full URL or a
    ``//host`` one, so a ``next`` parameter cannot send the user to another site. A backslash or
    a control character anywhere refuses the path too: browsers read ``/\\host`` as ``//host``
    and drop tabs and newlines before they read a URL."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    return target


def redirect_back(endpoint: str, **values: Any) -> Response:
    """Redirect to the posted form's ``next`` path (:func:`safe_next`), else to ``endpoint``."""
    return redirect(safe_next(request.form.get("next")) or url_for(endpoint, **values))


def new_or_edit(bp: Any, new: str, existing: str) -> Callable[[V], V]:
    """Route a create-or-edit view (GET and POST) at ``new`` and at ``existing``, whose last
    variable (``/enheder/<int:unit_id>``) is the view's id argument: None on ``new``."""
    argument = re.findall(r"<(?:[^:<>]+:)?(\w+)>", existing)[-1]

    def register(view: V) -> V:
        bp.route(existing, methods=["GET", "POST"])(view)
        return cast(V, bp.route(new, methods=["GET", "POST"], defaults={argument: None})(view))

    return register


def page_or_404(load: Callable[[], T]) -> T:
    """Run a page's loading service: 403 on a :class:`~tilsyn.errors.ServiceAccessError`, 404 on
    any other :class:`~tilsyn.errors.ServiceError` (no such object for this user)."""
    try:
        return load()
    except ServiceAccessError:
        abort(403)
    except ServiceError:
        abort(404)


def chosen_or_400(model: type[M], ident: Any) -> M:
    """The ``model`` row a form's select field chose; 400 when there is none (a forged form, or
    the row went away since the page was shown)."""
    row = db.session.get(model, ident)
    if row is None:
        abort(400)
    return row


def optional_or_404(model: type[M], ident: int | None) -> M | None:
    """The ``model`` row ``ident`` on an edit route, None without an id (the "new" route);
    404 when there is no such row."""
    return db.get_or_404(model, ident) if ident else None


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
