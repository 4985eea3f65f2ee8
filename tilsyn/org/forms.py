"""Admin forms for units, caseworkers and users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Disabled, Email, Length, Optional

from tilsyn.formutil import FlaskForm, choices
from tilsyn.permissions import ROLE_LABELS


def role_choices() -> list[SelectChoice]:
    """The roles as select choices, labelled in the current UI language."""
    return choices((role.value, label) for role, label in ROLE_LABELS.items())


class UnitForm(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=120)])
    active = BooleanField(_l("Aktiv"), default=True)
    submit = SubmitField(_l("Gem"))


class CaseworkerForm(FlaskForm):
    initials = StringField(
        _l("Initialer (som i sagssystemet)"), validators=[DataRequired(), Length(max=20)]
    )
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    unit_id = SelectField(_l("Enhed"), coerce=int, validators=[DataRequired()])
    employment_start = DateField(_l("Ansat fra"), validators=[Optional()])
    active = BooleanField(_l("Aktiv"), default=True)
    submit = SubmitField(_l("Gem"))


class UserForm(FlaskForm):
    username = StringField(_l("Brugernavn"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("E-mailadressen er ikke gyldig."), check_deliverability=False),
        ],
    )
    role = SelectField(_l("Rolle"), choices=role_choices)
    units = SelectMultipleField(_l("Enheder (teamleder)"), choices=[])
    caseworker = SelectField(_l("Sagsbehandler (sagsbehandler-bruger)"), choices=[])
    password = PasswordField(
        _l("Adgangskode (tom = uændret)"), validators=[Optional(), Length(min=8, max=200)]
    )
    active = BooleanField(_l("Aktiv"), default=True)
    submit = SubmitField(_l("Gem"))


class UserEditForm(UserForm):
    """Editing an existing user: the username is shown but locked (a disabled field is never
    submitted by the browser; a submitted value is refused)."""

    username = StringField(_l("Brugernavn"), validators=[Disabled()])
