"""Errors that services raise for a user to act on.

Every feature's error class derives from :class:`ServiceError`; its ``str()`` is the message a
view shows (already in the reader's language). :class:`ServiceAccessError` means the actor may
not do this at all: views turn it into 403, never into a flashed message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class ServiceError(ValueError):
    """A refused operation; the message says what and where, in the reader's language."""


class ServiceAccessError(ServiceError, PermissionError):
    """The actor may not do this; views answer 403."""


R = TypeVar("R")


def get_or_raise(session: Session, model: type[R], ident: object, error: ServiceError) -> R:
    """The ``model`` row whose primary key is ``ident``; ``error`` is raised if there is none."""
    row = session.get(model, ident)
    if row is None:
        raise error
    return row
