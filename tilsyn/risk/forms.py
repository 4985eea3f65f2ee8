"""Forms for editing and approving risk model versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tilsyn.formutil import FlaskForm, Form, choices, scheme_choices
from tilsyn.risk.rules import ATTRIBUTES, CATEGORICAL_ATTRIBUTES, OPERATORS
from tilsyn.schemes import scheme_code


def attribute_choices() -> list[SelectChoice]:
    """Attribute choices, labelled in the current UI language (called per form)."""
    return choices([("", "—"), *ATTRIBUTES.items()])


def operator_choices() -> list[SelectChoice]:
    """Operator choices such as ``>=  (større end eller lig med)``, in the current UI language."""
    return choices([("", "—"), *((op, f"{op}  ({label})") for op, label in OPERATORS.items())])


class ConditionForm(Form):
    attribute = SelectField(
        _l("Ekstra betingelse: attribut"),
        choices=attribute_choices,
        default="",
        validate_choice=False,
    )
    operator = SelectField(
        _l("Operator"), choices=operator_choices, default="", validate_choice=False
    )
    value = StringField(_l("Værdi"), validators=[Optional(), Length(max=400)])


class FactorForm(Form):
    code = StringField(_l("Kode"), validators=[Optional(), Length(max=64)])
    label = StringField(_l("Betegnelse"), validators=[Optional(), Length(max=200)])
    attribute = SelectField(
        _l("Attribut"), choices=attribute_choices, default="", validate_choice=False
    )
    operator = SelectField(
        _l("Operator"), choices=operator_choices, default="", validate_choice=False
    )
    value = StringField(
        _l("Værdi (tal, eller ordningskoder adskilt af komma)"),
        validators=[Optional(), Length(max=400)],
    )
    schemes = SelectMultipleField(
        _l("Kun for ordningerne (ingen valgt = alle)"), choices=scheme_choices
    )
    weight = StringField(_l("Vægt"), validators=[Optional(), Length(max=20)])
    rationale = TextAreaField(_l("Begrundelse"), validators=[Optional(), Length(max=4000)])
    when = FieldList(FormField(ConditionForm), min_entries=1)
    remove = BooleanField(_l("Fjern faktoren"))


class VersionForm(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Beskrivelse"), validators=[Optional(), Length(max=10000)])
    factors = FieldList(FormField(FactorForm))
    add_factor = SubmitField(_l("Tilføj en faktor"))
    submit = SubmitField(_l("Gem som kladde"))


class ApproveForm(FlaskForm):
    on_date = DateField(_l("Godkendt den"), validators=[DataRequired()], default=date.today)
    note = TextAreaField(
        _l("Bemærkning til godkendelsen"), validators=[Optional(), Length(max=4000)]
    )
    submit = SubmitField(_l("Godkend versionen"))


# --------------------------------------------------------------------------------------------
# Converting between stored factor dicts and form data
# --------------------------------------------------------------------------------------------


def _number_text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        x = float(value)
        return str(int(x)) if x.is_integer() else repr(x).replace(".", ",")
    return "" if value is None else str(value)


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return _number_text(value)


def _condition_data(c: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "attribute": c.get("attribute", ""),
        "operator": c.get("operator", ""),
        "value": _value_text(c.get("value")),
    }


def form_data(name: str, description: str, factors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Data for :class:`VersionForm` from stored factor dicts, plus one blank row to add."""
    rows = []
    for f in factors:
        when = [_condition_data(c) for c in f.get("when") or []]
        rows.append(
            {
                "code": f.get("code", ""),
                "label": f.get("label", ""),
                "attribute": f.get("attribute", ""),
                "operator": f.get("operator", ""),
                "value": _value_text(f.get("value")),
                "schemes": list(f.get("schemes") or []),
                "weight": _number_text(f.get("weight")),
                "rationale": f.get("rationale", ""),
                "when": [*when, {"attribute": "", "operator": "", "value": ""}],
            }
        )
    rows.append({"when": [{}]})
    return {"name": name, "description": description, "factors": rows}


def _parse_value(attribute: str, operator: str, raw: str, prefix: str) -> tuple[Any, list[str]]:
    raw = (raw or "").strip()
    if operator == "missing":
        return None, []
    if attribute in CATEGORICAL_ATTRIBUTES:
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        codes = [scheme_code(p) or p for p in parts]
        if operator == "in":
            return codes, []
        if len(codes) != 1:
            return raw, [prefix + _("Angiv præcis én ordningskode.")]
        return codes[0], []
    try:
        return float(raw.replace(" ", "").replace(",", ".")), []
    except ValueError:
        return None, [prefix + _("Værdien »%(value)s« er ikke et tal.", value=raw)]


def factors_from_form(form: VersionForm) -> tuple[list[dict[str, Any]], list[str]]:
    """Factor dicts from the editor rows (blank and removed rows skipped), and parse errors.

    The dicts are validated by the service; errors here are only about reading the text.
    """
    out: list[dict[str, Any]] = []
    errors: list[str] = []
    for i, entry in enumerate(form.factors.entries, start=1):
        row = entry.form
        if row.remove.data:
            continue
        if not (row.code.data or row.label.data or row.attribute.data):
            continue
        code = (row.code.data or "").strip()
        prefix = _("Faktor %(num)d (%(code)s): ", num=i, code=code or _("uden kode"))
        value, errs = _parse_value(
            row.attribute.data or "", row.operator.data or "", row.value.data or "", prefix
        )
        errors.extend(errs)
        weight_text = (row.weight.data or "").strip().replace(",", ".")
        try:
            weight: Any = float(weight_text)
        except ValueError:
            errors.append(
                prefix + _("Vægten »%(value)s« er ikke et tal.", value=row.weight.data or "")
            )
            weight = None
        when = []
        for j, c_entry in enumerate(row.when.entries, start=1):
            c = c_entry.form
            if not c.attribute.data:
                continue
            c_value, c_errs = _parse_value(
                c.attribute.data,
                c.operator.data or "",
                c.value.data or "",
                prefix + _("Ekstra betingelse %(num)d: ", num=j),
            )
            errors.extend(c_errs)
            when.append(
                {"attribute": c.attribute.data, "operator": c.operator.data or "", "value": c_value}
            )
        out.append(
            {
                "code": code,
                "label": (row.label.data or "").strip(),
                "attribute": row.attribute.data or "",
                "operator": row.operator.data or "",
                "value": value,
                "schemes": list(row.schemes.data or []),
                "weight": weight,
                "rationale": (row.rationale.data or "").strip(),
                "when": when,
            }
        )
    return out, errors
