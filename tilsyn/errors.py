"""Errors that services raise for a user to act on.

Every feature's error class derives from :class:`ServiceError`; its ``str()`` is the message a
view shows (already in the reader's language). :class:`ServiceAccessError` means the actor may
not do this at all: views turn it into 403, never into a flashed message.
"""

from __future__ import annotations


class ServiceError(ValueError):
    """A refused operation; the message says what and where, in the reader's language."""


class ServiceAccessError(ServiceError, PermissionError):
    """The actor may not do this; views answer 403."""
