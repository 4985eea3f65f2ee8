"""Audit log filter form (GET, no CSRF needed: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from tilsyn.formutil import FlaskForm


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField(_l("Bruger"), validators=[Optional()])
    action = SelectField(_l("Handling"), choices=[], validate_choice=False, validators=[Optional()])
    object_type = SelectField(
        _l("Objekttype"), choices=[], validate_choice=False, validators=[Optional()]
    )
    date_from = DateField(_l("Fra dato"), validators=[Optional()])
    date_to = DateField(_l("Til dato"), validators=[Optional()])
    submit = SubmitField(_l("Filtrér"))
