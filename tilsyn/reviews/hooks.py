"""What the review pages show from the feedback package above, through registered sources.

Feedback sits above reviews, so the review form's hints (the caseworker's answers in previous
rounds and open follow-up actions, per control point code) and the round page's feedback summary
(released, acknowledged, comments per caseworker) come through callables the app factory
registers in ``app.extensions``, as plain data. Without a registered source the pages show none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

#: ``(session, round_id, caseworker_id) -> Mapping[code, hint]``; a hint has ``previous`` and
#: ``actions``, lists of formatted lines (:func:`tilsyn.feedback.loop.review_hints`).
REVIEW_HINTS_SOURCE = "tilsyn.review_hints"
#: ``(session, actor, round_id) -> Sequence[row]``; a row has ``initials``, ``released``,
#: ``acknowledged``, ``comments`` and ``open_actions``
#: (:func:`tilsyn.feedback.pages.round_summary`).
ROUND_FEEDBACK_SOURCE = "tilsyn.round_feedback"


def review_hints_at(session: Session, round_id: int, caseworker_id: int) -> Mapping[str, Any]:
    source: Callable[..., Mapping[str, Any]] | None = current_app.extensions.get(
        REVIEW_HINTS_SOURCE
    )
    return source(session, round_id, caseworker_id) if source is not None else {}


def round_feedback_at(session: Session, actor: Any, round_id: int) -> Sequence[Any]:
    source: Callable[..., Sequence[Any]] | None = current_app.extensions.get(ROUND_FEEDBACK_SOURCE)
    return source(session, actor, round_id) if source is not None else []
