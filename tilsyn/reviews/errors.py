"""The reviews package's user-facing refusals."""

from __future__ import annotations

from collections.abc import Sequence

from tilsyn.errors import ServiceAccessError, ServiceError


class ReviewError(ServiceError):
    """A user-facing (Danish) refusal; ``problems`` lists every reason."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))


class ReviewAccessError(ReviewError, ServiceAccessError):
    """The actor may not review (or see reviews of) this caseworker's cases."""
