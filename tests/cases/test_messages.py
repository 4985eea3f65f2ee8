"""Import errors are kept in Danish and shown in the UI language (tilsyn.cases.messages)."""

from __future__ import annotations

import re
import string

import pytest
from flask import Flask
from flask_babel import force_locale

from tilsyn.cases import messages, parsing

NUMERIC = {"num", "row", "n", "expected", "found", "column", "cases"}


def _templates() -> dict[str, str]:
    """Every Danish reason template the parser and the import service make."""
    found = {
        f"parsing.{name}": value
        for name, value in vars(parsing).items()
        if name.startswith("MSG_") and isinstance(value, str)
    }
    found |= {
        f"messages.{name}": value
        for name, value in vars(messages).items()
        if name.startswith("MSG_") and isinstance(value, str)
    }
    return found


def _fill(template: str) -> tuple[str, list[str]]:
    """``template`` with sample values, and the values a translation must keep."""
    values: dict[str, str] = {}
    for _text, name, _spec, _conv in string.Formatter().parse(template):
        if name is None:
            continue
        if name in NUMERIC:
            values[name] = str(7 + len(values))
        elif name == "sheet":
            values[name] = "Ark 2 «Data»"
        elif name == "label":
            values[name] = "Sags-ID"
        else:
            values[name] = f"Værdi{len(values)}"
    return template.format(**values), [v for k, v in values.items() if k not in {"sheet", "label"}]


TEMPLATES = _templates()


def test_every_template_is_found() -> None:
    # Guards the discovery above against silently finding nothing.
    assert "parsing.MSG_CPR" in TEMPLATES
    assert "messages.MSG_UNKNOWN_CASEWORKERS" in TEMPLATES
    assert len(TEMPLATES) >= 30


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_reason_is_translated_with_its_values(app: Flask, name: str) -> None:
    danish, kept = _fill(TEMPLATES[name])
    with app.test_request_context(), force_locale("en"):
        english = messages.translate_reason(danish)
    assert english != danish, f"{name} has no English translation: {danish!r}"
    assert not re.search(r"[æøåÆØÅ]", english.replace("Værdi", "")), english
    for value in kept:
        assert value in english, (name, value, english)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_danish_reasons_stay_as_they_are(app: Flask, name: str) -> None:
    danish, _kept = _fill(TEMPLATES[name])
    with app.test_request_context(), force_locale("da"):
        assert messages.translate_reason(danish) == danish


def test_unknown_caseworker_uses_the_plural_form(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        one = messages.translate_reason(messages.unknown_caseworker_reason("ABC", 1))
        many = messages.translate_reason(messages.unknown_caseworker_reason("ABC", 3))
    assert "ABC" in one and "1 case " in one
    assert "ABC" in many and "3 cases " in many


def test_columns_named_by_tilsyn_are_translated_headers_from_the_file_are_not(app: Flask) -> None:
    sheet = parsing.SHEET_LABEL.format(num=2, title="Ark med data")
    with app.test_request_context(), force_locale("en"):
        assert messages.translate_column(parsing.COLUMN_NUMBER.format(num=4)) == "Column 4"
        other = messages.translate_column(parsing.SHEET_COLUMN.format(sheet=sheet, column=3))
        assert other is not None
        assert "Sheet 2" in other and "Ark med data" in other and "column 3" in other.lower()
        # A header taken from the file is the user's own text.
        assert messages.translate_column("Sagsbehandler") == "Sagsbehandler"
        assert messages.translate_column(None) is None
        # Text from elsewhere is shown as it is, never dropped.
        assert messages.translate_reason("Noget helt andet") == "Noget helt andet"


def test_translated_error_keeps_row_and_value(app: Flask) -> None:
    error = parsing.RowError(5, parsing.COLUMN_NUMBER.format(num=2), parsing.MSG_INT, "tre")
    with app.test_request_context(), force_locale("en"):
        shown = messages.translate_error(error)
    assert (shown.row, shown.value) == (5, "tre")
    assert shown.reason != parsing.MSG_INT
    assert shown.column == "Column 2"
