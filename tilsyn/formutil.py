"""Small helpers shared by forms, and the base form classes every feature form derives from.

WTForms ships no Danish catalogue, so its built-in messages ("This field is required.", "Not a
valid date value.") come from ``tilsyn/translations/da/LC_MESSAGES/wtforms.mo`` (gettext domain
``wtforms``, the domain Flask-WTF uses). For any other locale WTForms' own catalogue in
:func:`wtforms.i18n.messages_path` is used, as Flask-WTF does. Feature forms import
:class:`FlaskForm` (and :class:`Form` for sub-forms in a ``FormField``) from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

import flask_wtf
import wtforms
from babel import support
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms.fields import DateField, FieldList, FileField, FormField, PasswordField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from tilsyn.schemes import SCHEMES
from tilsyn.settings import ROOT

TRANSLATIONS_DIR = ROOT / "tilsyn" / "translations"
WTFORMS_DOMAIN = "wtforms"


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Build WTForms select choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, str(label)) for value, label in pairs]


def scheme_choices() -> list[SelectChoice]:
    """Scheme choices labelled in the current UI language: pass the function itself as a
    field's ``choices`` so the labels are made per form, not once at import."""
    return choices(SCHEMES.items())


@cache
def wtforms_catalogue(locale: str) -> support.NullTranslations:
    """WTForms' messages for ``locale``: tilsyn's own catalogue first, then WTForms' catalogue."""
    theirs = support.Translations.load(messages_path(), [locale], domain=WTFORMS_DOMAIN)
    ours = support.Translations.load(str(TRANSLATIONS_DIR), [locale], domain=WTFORMS_DOMAIN)
    if isinstance(ours, support.Translations):
        ours.add_fallback(theirs)
        return ours
    return theirs


class WTFormsTranslations:
    """The translations object WTForms asks for messages; follows the request's locale."""

    def _catalogue(self) -> support.NullTranslations:
        locale = get_locale() if has_request_context() else None
        return wtforms_catalogue(str(locale) if locale is not None else "da")

    def gettext(self, string: str) -> str:
        return self._catalogue().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalogue().ungettext(singular, plural, n)


translations = WTFormsTranslations()

# --- The rules every form field gets (bound by the base classes' Meta) ----------------------

#: Control characters refused in any text input: NUL, DEL and the other C0/C1 codes except
#: tab, line feed and carriage return (the same set the import refuses).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = _l("Teksten indeholder ugyldige kontroltegn (fx NUL); fjern dem og prøv igen.")

#: The range of every date a form accepts (inclusive). Dates outside it are typing errors
#: (0001-01-01, 9999-12-31) and would overflow period arithmetic.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character :data:`CONTROL_CHARACTERS` refuses."""
    return not text.isprintable() and CONTROL_CHARACTERS.search(text) is not None


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, list | tuple):
        return [item for item in data if isinstance(item, str)]
    return []


class NoControlCharacters:
    """Refuse control characters in a field's submitted text (every field but passwords and
    files gets this rule from the base forms' ``Meta``). Checks the raw submitted values too,
    so a select whose value is not one of its choices is covered."""

    def __call__(self, form: Any, field: Any) -> None:
        values = [*_strings(field.data), *_strings(getattr(field, "raw_data", None))]
        if any(has_control_characters(value) for value in values):
            raise ValidationError(str(CONTROL_MESSAGE))


class DateInRange:
    """Refuse a date outside :data:`DATE_MIN` … :data:`DATE_MAX` with a Danish message."""

    def __init__(self, low: date = DATE_MIN, high: date = DATE_MAX) -> None:
        self.low, self.high = low, high

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if isinstance(value, date) and not self.low <= value <= self.high:
            raise ValidationError(
                str(
                    _l(
                        "Datoen skal ligge mellem %(low)s og %(high)s.",
                        low=self.low.strftime("%d-%m-%Y"),
                        high=self.high.strftime("%d-%m-%Y"),
                    )
                )
            )


def _add_rules(field: Any) -> Any:
    """Give a bound field the rules shared by every form (a new list: the class's validator
    list is shared by all instances)."""
    extra: list[Any] = []
    if isinstance(field, DateField):
        extra.append(DateInRange())
    if not isinstance(field, PasswordField | FileField):
        extra.append(NoControlCharacters())
    if extra:
        field.validators = [*field.validators, *extra]
    return field


def error_list(form: Any) -> list[tuple[str, str]]:
    """Every error of ``form`` as ``(where, message)`` pairs, for the summary above a form.

    ``where`` is the field's (translated) label; for a row of a list of sub-forms it names the
    row and the column ("Svarmuligheder, række 2, Svarmulighed"), never a raw Python structure.
    The CSRF token's error has no label.
    """
    found: list[tuple[str, str]] = []

    def walk(field: Any, where: str) -> None:
        if isinstance(field, FieldList):
            for number, entry in enumerate(field.entries, 1):
                walk(entry, str(_l("%(list)s, række %(n)d", list=where, n=number)))
            found.extend((where, error) for error in field.errors if isinstance(error, str))
        elif isinstance(field, FormField):
            for sub in field.form:
                walk(sub, f"{where}, {sub.label.text}")
        else:
            found.extend((where, str(error)) for error in field.errors)

    for field in form:
        where = "" if field.type == "CSRFTokenField" else str(field.label.text)
        walk(field, where)
    found.extend(("", str(error)) for error in getattr(form, "form_errors", ()))
    return found


class _SharedRules:
    """Meta mixin: UI-language messages and the shared field rules for every form."""

    def get_translations(self, form: Any) -> WTFormsTranslations:
        return translations

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
        return _add_rules(super().bind_field(form, unbound_field, options))  # type: ignore[misc]


class FlaskForm(flask_wtf.FlaskForm):
    """Flask-WTF form (CSRF, request data) whose built-in messages follow the UI language, and
    whose fields refuse control characters and dates outside the sane range."""

    class Meta(_SharedRules, flask_wtf.FlaskForm.Meta):
        pass


class Form(wtforms.Form):
    """Plain WTForms form (sub-forms in a ``FormField``) with the same messages and rules."""

    class Meta(_SharedRules, wtforms.Form.Meta):
        pass


def button_form(label: Any, name: str = "ButtonForm") -> type[FlaskForm]:
    """A form class of one submit button labelled ``label`` (plus the CSRF token), for a page
    action that sends nothing else."""
    return type(name, (FlaskForm,), {"submit": SubmitField(label)})


class DanishDecimalField(wtforms.DecimalField):
    """A decimal number entered and shown with a decimal comma (``1,5``; ``1.5`` is accepted too).

    The value is shown without trailing zeros (``1`` rather than ``1,00``); thousands separators
    are not accepted (``1.000`` would be ambiguous).
    """

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        text = format(self.data, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(".", ",")

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            valuelist = [str(v).strip().replace(",", ".", 1) for v in valuelist]
        super().process_formdata(valuelist)
