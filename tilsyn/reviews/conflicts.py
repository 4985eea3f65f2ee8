"""Lost-update protection for reviews: a save made from a stale form is refused.

Every :class:`~tilsyn.reviews.models.CaseReview` carries a ``version`` (SQLAlchemy's
``version_id_col``: each UPDATE checks and bumps it). The review form sends the version it was
opened with (0 when no review existed yet); :func:`check_version` refuses the save when the
stored review has moved on, with a message that names who saved it when and what differs from
what the user typed. Nothing is written then; the page comes back with the user's input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import gettext as _

from tilsyn.catalogue.models import ControlPoint
from tilsyn.formatting import fmt_date
from tilsyn.reviews.errors import ReviewError
from tilsyn.reviews.models import CaseReview


class StaleReviewError(ReviewError):
    """The review was saved by someone else after this form was opened. ``version`` is the
    stored version, for the form to carry once the user has seen the differences."""

    def __init__(self, problems: Sequence[str], version: int) -> None:
        super().__init__(problems)
        self.version = version


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer_text(point: ControlPoint, option_id: int | None, note: str) -> str:
    label = next((o.label for o in point.scale.options if o.id == option_id), None)
    parts = [label or _("intet svar")]
    if note.strip():
        parts.append(_("bemærkning «%(note)s»", note=_short(note)))
    return ", ".join(parts)


def differences(
    review: CaseReview,
    points: Sequence[ControlPoint],
    answers: Mapping[int, tuple[int | None, str]],
    overall_note: str,
) -> list[str]:
    """What the stored review says where it differs from what the user typed (Danish)."""
    stored = {a.control_point_id: (a.option_id, a.note or "") for a in review.answers}
    found = []
    for point in points:
        saved = stored.get(point.id, (None, ""))
        typed = answers.get(point.id, (None, ""))
        if (saved[0], saved[1].strip()) != (typed[0], (typed[1] or "").strip()):
            found.append(
                _(
                    "%(code)s: gemt «%(saved)s», du skrev «%(typed)s».",
                    code=point.code,
                    saved=_answer_text(point, *saved),
                    typed=_answer_text(point, typed[0], typed[1] or ""),
                )
            )
    if (review.overall_note or "").strip() != (overall_note or "").strip():
        found.append(
            _(
                "Samlet bemærkning: gemt «%(saved)s».",
                saved=_short(review.overall_note or "") or _("ingen"),
            )
        )
    return found


def check_version(
    review: CaseReview | None,
    expected: int | None,
    points: Sequence[ControlPoint],
    answers: Mapping[int, tuple[int | None, str]],
    overall_note: str,
) -> None:
    """Refuse (:class:`StaleReviewError`) when ``expected`` is not the stored version.

    ``expected`` None skips the check (callers without a form: the command line, the demo).
    """
    current = review.version if review is not None else 0
    if expected is None or expected == current or review is None:
        return
    head = _(
        "Gennemgangen er ændret af %(name)s %(when)s, efter du åbnede den. Det, du skrev, er "
        "ikke gemt, men står i formularen herunder. Gem igen, hvis din udgave skal erstatte "
        "den gemte.",
        name=review.reviewer_name,
        when=fmt_date(review.updated_at),
    )
    changed = differences(review, points, answers, overall_note)
    raise StaleReviewError([head, *changed], current)


def stale_after_flush(review: CaseReview) -> StaleReviewError:
    """The refusal when a concurrent save committed between the check and this write."""
    return StaleReviewError(
        [
            _(
                "Gennemgangen blev gemt af en anden samtidig. Det, du skrev, er ikke gemt, men "
                "står i formularen herunder. Gem igen, hvis din udgave skal erstatte den gemte."
            )
        ],
        review.version,
    )
