"""Forms of the feedback pages (CSRF plus the fields; values are checked by the services)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from tilsyn.feedback.common import COMMENT_MAX, DESCRIPTION_MAX
from tilsyn.feedback.models import INVOLVEMENT_LABELS, OWNER_LABELS, Involvement, Owner
from tilsyn.formutil import FlaskForm, button_form, choices


class PlainForm(FlaskForm):
    """Only the CSRF token (release, acknowledge, approve buttons)."""


class ReleaseForm(FlaskForm):
    caseworker_id = HiddenField()
    submit = SubmitField(_l("Frigiv som feedback"))


AcknowledgeForm = button_form(_l("Kvittér"), "AcknowledgeForm")


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Kommentar"), render_kw={"maxlength": COMMENT_MAX, "rows": 3})
    submit = SubmitField(_l("Send kommentar"))


class ActionForm(FlaskForm):
    description = TextAreaField(
        _l("Hvad skal gøres"), render_kw={"maxlength": DESCRIPTION_MAX, "rows": 3}
    )
    control_point_id = SelectField(_l("Fund"), choices=[], validate_choice=False)
    owner = RadioField(
        _l("Ejer"),
        choices=lambda: choices((o.value, OWNER_LABELS[o]) for o in Owner),
        default=Owner.CASEWORKER.value,
        validate_choice=False,
    )
    due_date = StringField(_l("Frist"), render_kw={"type": "date"})
    with_case = BooleanField(_l("Sagen skal rettes"), default=True)
    submit = SubmitField(_l("Opret opfølgningspunkt"))


class DoneForm(FlaskForm):
    note = TextAreaField(_l("Hvad er gjort"), render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2})
    submit = SubmitField(_l("Markér som udført"))


class ReasonForm(FlaskForm):
    note = TextAreaField(_l("Begrundelse"), render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2})
    submit = SubmitField(_l("Send"))


class PreferenceForm(FlaskForm):
    weekly_digest = BooleanField(_l("Saml mine beskeder i én ugentlig mail"))
    submit = SubmitField(_l("Gem"))


class PlanSettingsForm(FlaskForm):
    involvement = SelectField(
        _l("Sagsbehandlerens inddragelse"),
        choices=lambda: choices((i.value, INVOLVEMENT_LABELS[i]) for i in Involvement),
        validate_choice=False,
    )
    followup_allowance = IntegerField(
        _l("Opfølgningstillæg f (ekstra sager ved åbent opfølgningspunkt)"),
        validators=[Optional()],
    )
    submit = SubmitField(_l("Gem"))


def parse_date(raw: str | None) -> date | None:
    """ISO (the date picker) or dd-mm-åååå / dd.mm.åååå; None if empty or unreadable."""
    text = (raw or "").strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
