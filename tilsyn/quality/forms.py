"""Forms of the Kalibrering pages (the second review's answer fields are read by the view)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from tilsyn.auth.models import User
from tilsyn.formutil import FlaskForm, button_form
from tilsyn.quality.calibration import MAX_CASES_PER_TEAM, REASON_MAX


class SettingForm(FlaskForm):
    active = BooleanField(_l("Kalibrering i hver runde"))
    cases_per_team = IntegerField(
        _l("Sager pr. team"),
        default=2,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_CASES_PER_TEAM)],
    )
    leaders = SelectMultipleField(_l("Ledere, der gennemgår hinandens sager"), coerce=int)
    submit = SubmitField(_l("Gem kalibrering"))


AssignForm = button_form(_l("Udvælg sager til anden gennemgang"), "AssignForm")


class SecondReviewForm(FlaskForm):
    save = SubmitField(_l("Gem kladde"))
    complete = SubmitField(_l("Afslut gennemgang"))


class ResolveForm(FlaskForm):
    standing = RadioField(
        _l("Svaret, der står"),
        choices=[
            SelectChoice("first", _l("Første gennemgang")),
            SelectChoice("second", _l("Anden gennemgang")),
        ],
        validators=[InputRequired()],
    )
    reason = TextAreaField(_l("Hvorfor"), validators=[DataRequired(), Length(max=REASON_MAX)])
    submit = SubmitField(_l("Afgør"))


def leader_select(users: list[User]) -> list[SelectChoice]:
    return [SelectChoice(u.id, u.display_name or u.username) for u in users]
