"""Forms for plans and rounds."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from tilsyn.catalogue.models import Theme
from tilsyn.formutil import FlaskForm, choices, scheme_choices
from tilsyn.rounds.models import CADENCES, ROTATION_MODES

NOT_USED = ""
CORE = "core"


class PlanForm(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    unit_id = SelectField(_l("Enhed"), choices=[])
    cadence = SelectField(_l("Kadence"), choices=[])
    starts_on = DateField(
        _l("Første periode (dato i perioden; tom = den aktuelle)"), validators=[Optional()]
    )
    per_caseworker = IntegerField(
        _l("Sager pr. sagsbehandler pr. runde"),
        default=2,
        validators=[InputRequired(), NumberRange(1, 50)],
    )
    new_caseworker = IntegerField(
        _l("Sager pr. ny sagsbehandler"),
        default=4,
        validators=[InputRequired(), NumberRange(1, 50)],
    )
    new_months = IntegerField(
        _l("Ny i (måneder)"), default=6, validators=[InputRequired(), NumberRange(0, 60)]
    )
    lam = DecimalField(
        _l("Risikovægtning λ (0 = simpel tilfældig udvælgelse)"),
        default=1,
        places=2,
        validators=[InputRequired(), NumberRange(0, 20)],
    )
    by_scheme = BooleanField(_l("Fordel også på ordning"))
    exclude_recent_rounds = IntegerField(
        _l("Udeluk sager udtrukket i de seneste r runder (r)"),
        default=1,
        validators=[InputRequired(), NumberRange(0, 12)],
    )
    schemes = SelectMultipleField(_l("Ordninger (ingen valgt = alle)"), choices=scheme_choices)
    rotation_mode = SelectField(_l("Valg af roterende temaer"), choices=[])
    rotating_per_round = IntegerField(
        _l("Roterende temaer pr. runde"),
        default=1,
        validators=[InputRequired(), NumberRange(0, 20)],
    )
    review_weeks = IntegerField(
        _l("Frist for gennemgang (uger efter periodens start)"),
        default=6,
        validators=[InputRequired(), NumberRange(1, 52)],
    )
    snapshot_max_age_days = IntegerField(
        _l("Sagsudtræk højst så mange dage ældre end periodens start"),
        default=45,
        validators=[InputRequired(), NumberRange(1, 400)],
    )
    active = BooleanField(_l("Aktiv (planlæggeren opretter runder)"), default=True)
    submit = SubmitField(_l("Gem"))

    def theme_fields(self) -> list[SelectField]:
        return [f for f in self if f.name.startswith("theme_")]

    def theme_roles(self) -> tuple[list[int], list[int]]:
        """(core theme ids, rotating theme ids in rotation order) from the per-theme fields."""
        core: list[int] = []
        rotating: list[tuple[int, int]] = []
        for f in self.theme_fields():
            theme_id = int(f.name.removeprefix("theme_"))
            if f.data == CORE:
                core.append(theme_id)
            elif f.data and f.data.isdigit():
                rotating.append((int(f.data), theme_id))
        return core, [tid for _, tid in sorted(rotating)]


def plan_form(themes: Sequence[Theme], **kwargs: object) -> PlanForm:
    """A PlanForm with one role field per theme: not used, fixed core, or rotating as no. k.

    Choice labels are built here, per request, so that they follow the user's language.
    """
    role_choices = choices(
        [(NOT_USED, _l("Ikke med")), (CORE, _l("Fast kerne"))]
        + [(str(k), _l("Roterende nr. %(n)d", n=k)) for k in range(1, len(themes) + 1)]
    )

    class _PlanForm(PlanForm):
        pass

    for theme in themes:
        setattr(
            _PlanForm,
            f"theme_{theme.id}",
            SelectField(theme.name, choices=role_choices, default=NOT_USED),
        )
    form = _PlanForm(**kwargs)
    form.cadence.choices = choices(CADENCES.items())
    form.rotation_mode.choices = choices(ROTATION_MODES.items())
    return form


class NewRoundForm(FlaskForm):
    # Any label is accepted here; the service refuses periods outside the allowed range with a
    # message that says which periods are allowed.
    period = SelectField(_l("Periode"), choices=[], validate_choice=False)
    rotating = SelectMultipleField(
        _l("Roterende temaer (intet valgt = efter planens regel)"), choices=[]
    )
    submit = SubmitField(_l("Opret runde"))


class DrawForm(FlaskForm):
    #: The round's draw when the page was opened ("" for none): a second submit is refused.
    replaces = HiddenField(validators=[Optional(), Regexp(r"^\d{0,10}$")])
    reason = TextAreaField(
        _l("Begrundelse (kræves for at udskifte en stikprøve)"),
        validators=[Optional(), Length(max=2000)],
    )
    submit = SubmitField(_l("Træk stikprøve"))


class ThemesForm(FlaskForm):
    rotating = SelectMultipleField(_l("Roterende temaer"), choices=[])
    submit = SubmitField(_l("Gem temaer"))


class StatusForm(FlaskForm):
    target = HiddenField(validators=[DataRequired()])
