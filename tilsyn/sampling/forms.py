"""The draw form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
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

from tilsyn.formutil import FlaskForm
from tilsyn.sampling.design import MAX_PER_STRATUM, DesignParams

_DEFAULTS = DesignParams()


class DrawForm(FlaskForm):
    snapshot_id = SelectField(_l("Sagsudtræk"), coerce=int, validators=[DataRequired()])
    per_caseworker = IntegerField(
        _l("Sager pr. sagsbehandler (n)"),
        default=_DEFAULTS.per_caseworker,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_PER_STRATUM)],
    )
    new_caseworker = IntegerField(
        _l("Sager pr. ny sagsbehandler (m)"),
        default=_DEFAULTS.new_caseworker,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_PER_STRATUM)],
    )
    new_months = IntegerField(
        _l("Ny sagsbehandler: ansat under (k) måneder"),
        default=_DEFAULTS.new_months,
        validators=[InputRequired(), NumberRange(min=0, max=600)],
    )
    lam = StringField(
        _l("Risikovægtning λ (0 = simpel tilfældig udvælgelse)"),
        default="1",
        validators=[
            InputRequired(),
            Regexp(
                r"^\s*\d{1,4}([.,]\d{1,6})?\s*$", message=_l("λ skal være et tal, fx 1 eller 0,5.")
            ),
        ],
    )
    by_scheme = BooleanField(_l("Stratificér også efter ordning"), default=_DEFAULTS.by_scheme)
    seed = StringField(
        _l("Startværdi (seed) – tom = ny tilfældig"),
        validators=[
            Optional(),
            Regexp(r"^\s*\d{1,39}\s*$", message=_l("Startværdien skal være et helt tal.")),
        ],
    )
    note = TextAreaField(_l("Bemærkning"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Træk stikprøve"))

    def params(self) -> DesignParams:
        return DesignParams(
            per_caseworker=int(self.per_caseworker.data or 0),
            new_caseworker=int(self.new_caseworker.data or 0),
            new_months=int(self.new_months.data or 0),
            lam=float((self.lam.data or "0").strip().replace(",", ".")),
            by_scheme=bool(self.by_scheme.data),
        )

    def seed_value(self) -> int | None:
        text = (self.seed.data or "").strip()
        return int(text) if text else None
