"""Forms for reviewing a sampled case.

The answer fields depend on the case (one radio group ``cp_<id>`` and one note ``note_<id>`` per
applicable control point), so they are read by :func:`parse_answers`; the fixed part (CSRF token,
overall note, the two buttons) is a normal form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from tilsyn.catalogue.models import ControlPoint
from tilsyn.formutil import FlaskForm, button_form, has_control_characters
from tilsyn.reviews.recording import NOTE_MAX, OVERALL_NOTE_MAX


class ReviewForm(FlaskForm):
    #: The review's version when the form was opened (0: none yet); see reviews.conflicts.
    version = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    overall_note = TextAreaField(
        _l("Samlet bemærkning til sagen"),
        validators=[Optional(), Length(max=OVERALL_NOTE_MAX)],
    )
    next_case = BooleanField(
        _l("Gå videre til næste sag, når gennemgangen er afsluttet"), default=True
    )
    save = SubmitField(_l("Gem kladde"))
    complete = SubmitField(_l("Afslut gennemgang"))


ReopenForm = button_form(_l("Genåbn gennemgangen"), "ReopenForm")


def answer_field(point: ControlPoint) -> str:
    return f"cp_{point.id}"


def note_field(point: ControlPoint) -> str:
    return f"note_{point.id}"


def reason_field(point: ControlPoint) -> str:
    """The override reason of a data-answered control point."""
    return f"reason_{point.id}"


def parse_reasons(data: Mapping[str, str], points: Sequence[ControlPoint]) -> dict[int, str]:
    """The override reasons posted for ``points`` (checked by the service)."""
    return {p.id: data.get(reason_field(p)) or "" for p in points if reason_field(p) in data}


def parse_answers(
    data: Mapping[str, str], points: Sequence[ControlPoint]
) -> tuple[dict[int, tuple[int | None, str]], list[str]]:
    """Read the answer and note of every applicable control point from posted form data.

    Returns the answers for :func:`tilsyn.reviews.recording.save_review` and the problems found
    (Danish, naming the control point). Whether an option belongs to the scale is checked by
    the service.
    """
    answers: dict[int, tuple[int | None, str]] = {}
    problems: list[str] = []
    for point in points:
        raw = (data.get(answer_field(point)) or "").strip()
        option_id: int | None = None
        if raw:
            if raw.isascii() and raw.isdigit() and len(raw) <= 18:
                option_id = int(raw)
            else:
                problems.append(
                    _(
                        "%(code)s: svaret kan ikke læses; vælg en af svarmulighederne.",
                        code=point.code,
                    )
                )
        note = data.get(note_field(point)) or ""
        if has_control_characters(note):
            problems.append(
                _(
                    "%(code)s: bemærkningen indeholder ugyldige kontroltegn (fx NUL); fjern dem.",
                    code=point.code,
                )
            )
        if len(note) > NOTE_MAX:
            problems.append(
                _(
                    "%(code)s: bemærkningen er for lang (højst %(n)d tegn).",
                    code=point.code,
                    n=NOTE_MAX,
                )
            )
        answers[point.id] = (option_id, note)
    return answers, problems
