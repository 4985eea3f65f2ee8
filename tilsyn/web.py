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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from flask import abort, flash
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

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
    """``after_request`` hook: commit the request's work once if the response is a success."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response
