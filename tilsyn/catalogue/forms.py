"""Forms for the catalogue editor."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from tilsyn.formutil import FlaskForm, Form, scheme_choices


class ControlPointForm(FlaskForm):
    code = StringField(
        _l("Kode (stabil, genbruges aldrig)"), validators=[Optional(), Length(max=60)]
    )
    theme_id = SelectField(_l("Tema"), coerce=int, validators=[DataRequired()])
    question = TextAreaField(_l("Spørgsmål"), validators=[DataRequired(), Length(max=2000)])
    help_text = TextAreaField(_l("Vejledning"), validators=[Optional(), Length(max=4000)])
    legal_reference = StringField(_l("Lovhenvisning"), validators=[Optional(), Length(max=300)])
    schemes = SelectMultipleField(
        _l("Ordninger (ingen valgt = alle ordninger)"),
        choices=scheme_choices,
        validators=[Optional()],
    )
    scale_id = SelectField(_l("Svarskala"), coerce=int, validators=[DataRequired()])
    active = BooleanField(_l("I brug"), default=True)
    comparable = BooleanField(
        _l("Sammenlignelig med tidligere version (resultaterne kan følges over tid)"),
        default=False,
    )
    change_note = TextAreaField(
        _l("Beskrivelse af ændringen"), validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField(_l("Gem"))


class ThemeForm(FlaskForm):
    code = StringField(_l("Kode (stabil)"), validators=[Optional(), Length(max=60)])
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Beskrivelse"), validators=[Optional(), Length(max=4000)])
    is_core = BooleanField(_l("Foreslået som fast kerne"))
    submit = SubmitField(_l("Gem"))


class ScaleOptionForm(Form):
    """One answer option row of the scale editor (a blank row is ignored)."""

    code = StringField(_l("Kode"), validators=[Optional(), Length(max=40)])
    label = StringField(_l("Svarmulighed"), validators=[Optional(), Length(max=200)])
    # The service checks the outcome and says which option is wrong.
    outcome = SelectField(_l("Udfald"), choices=[], validate_choice=False)
    score = StringField(_l("Point"), validators=[Optional(), Length(max=20)])


class ScaleForm(FlaskForm):
    code = StringField(_l("Kode (stabil)"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    options = FieldList(
        FormField(ScaleOptionForm), label=_l("Svarmuligheder"), min_entries=0, max_entries=40
    )
    submit = SubmitField(_l("Gem"))
