"""Small helpers shared by forms, and the base form classes every feature form derives from.

WTForms ships no Danish catalogue, so its built-in messages ("This field is required.", "Not a
valid date value.") come from ``tilsyn/translations/da/LC_MESSAGES/wtforms.mo`` (gettext domain
``wtforms``, the domain Flask-WTF uses). For any other locale WTForms' own catalogue in
:func:`wtforms.i18n.messages_path` is used, as Flask-WTF does. Feature forms import
:class:`FlaskForm` (and :class:`Form` for sub-forms in a ``FormField``) from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import flask_wtf
import wtforms
from babel import support
from flask import has_request_context
from flask_babel import get_locale
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path

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


class FlaskForm(flask_wtf.FlaskForm):
    """Flask-WTF form (CSRF, request data) whose built-in messages follow the UI language."""

    class Meta(flask_wtf.FlaskForm.Meta):
        def get_translations(self, form: Any) -> WTFormsTranslations:
            return translations


class Form(wtforms.Form):
    """Plain WTForms form (sub-forms in a ``FormField``) with the same messages."""

    class Meta(wtforms.Form.Meta):
        def get_translations(self, form: Any) -> WTFormsTranslations:
            return translations


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
