"""Forms for importing case-system exports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import DataRequired

from tilsyn.cases.importing.result import UnitChoice, UnknownCaseworker
from tilsyn.formutil import FlaskForm, choices


class UploadForm(FlaskForm):
    file = FileField(
        _l("Fil (CSV eller Excel/XLSX)"),
        validators=[FileRequired(_l("Vælg en fil."))],
        render_kw={"accept": ".csv,.txt,.xlsx"},
    )
    mapping = SelectField(_l("Kolonneopsætning (kildesystem)"), choices=[])
    as_of = DateField(
        _l("Udtrækket er pr. (dato)"), validators=[DataRequired()], default=date.today
    )
    submit = SubmitField(_l("Vis forhåndsvisning"))


class ConfirmForm(FlaskForm):
    """Confirmation; fields ``unit_<n>`` place each unknown caseworker (added per request)."""

    submit = SubmitField(_l("Indlæs sagsudtrækket"))


def confirm_form(
    unknown: Sequence[UnknownCaseworker],
    options: Sequence[tuple[str, str]],
    defaults: Sequence[str],
) -> ConfirmForm:
    """A confirmation form with one required unit choice per unknown caseworker."""

    class _Form(ConfirmForm):
        pass

    pairs = [("", str(_l("Vælg enhed …"))), *list(options)]
    for index, caseworker in enumerate(unknown):
        label = caseworker.initials
        if caseworker.name and caseworker.name != caseworker.initials:
            label += f" – {caseworker.name}"
        if caseworker.team:
            label += f" ({_l('team i filen')}: {caseworker.team})"
        setattr(
            _Form,
            f"unit_{index}",
            SelectField(
                label,
                choices=choices(pairs),
                default=defaults[index] if index < len(defaults) else "",
                validators=[DataRequired(_l("Vælg en enhed til sagsbehandleren."))],
            ),
        )
    return _Form()


def parse_unit_option(value: str) -> UnitChoice | None:
    """``u:<id>`` -> id, ``n:<name>`` -> name; anything else None."""
    if value.startswith("u:") and value[2:].isdigit():
        return int(value[2:])
    if value.startswith("n:") and value[2:].strip():
        return value[2:].strip()
    return None
