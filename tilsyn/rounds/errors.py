"""The rounds package's user-facing refusal."""

from __future__ import annotations

from tilsyn.errors import ServiceError


class RoundError(ServiceError):
    """A user-facing refusal (in the UI language; Danish outside a request)."""
