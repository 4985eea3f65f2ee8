"""Login, password and language forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from tilsyn.formutil import FlaskForm, choices

#: The UI languages a user may choose, with their names in their own language.
LANGUAGE_CHOICES: tuple[tuple[str, str], ...] = (("da", "Dansk"), ("en", "English"))


class LoginForm(FlaskForm):
    username = StringField(_l("Brugernavn"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Adgangskode"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log ind"))


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField(_l("Nuværende adgangskode"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("Ny adgangskode"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Gentag ny adgangskode"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("Adgangskoderne er ikke ens.")),
        ],
    )
    submit = SubmitField(_l("Skift adgangskode"))


class LanguageForm(FlaskForm):
    locale = RadioField(_l("Sprog"), choices=choices(LANGUAGE_CHOICES), validators=[DataRequired()])
    submit = SubmitField(_l("Gem sprog"))
