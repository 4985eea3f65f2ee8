"""Import errors are codes with parameters: recorded in Danish, shown in the reader's language
(tilsyn.cases.importing.errors)."""

from __future__ import annotations

import re
import string

import pytest
from flask import Flask
from flask_babel import force_locale

from tilsyn.cases.importing.errors import CATALOGUE, RowError, Text, field_label, text

NUMERIC = {"num", "row", "n", "expected", "found", "column", "low", "high", "max"}


def _params(code: str) -> dict[str, object]:
    """Sample values for every placeholder of a code's message."""
    values: dict[str, object] = {}
    for _literal, name, _spec, _conv in string.Formatter().parse(
        re.sub(r"%\((\w+)\)s", r"{\1}", CATALOGUE[code])
    ):
        if name is None:
            continue
        if name in NUMERIC:
            values[name] = 7 + len(values)
        elif name == "sheet":
            values[name] = text("sheet_label", num=2, title="Data")
        elif name == "label":
            values[name] = field_label("start_date")
        else:
            values[name] = f"Værdi{len(values)}"
    return values


#: Words that English writes as Danish does.
SAME_IN_ENGLISH = {"field.team"}
CODES = sorted(code for code in CATALOGUE if not code.endswith(".plural"))


def test_the_catalogue_is_complete() -> None:
    # Guards the parametrisation below against silently finding nothing.
    assert {"cpr", "unknown_caseworker", "too_many_rows", "cpr_filename", "field.case_ref"} <= set(
        CODES
    )
    assert len(CODES) >= 45


@pytest.mark.parametrize("code", CODES)
def test_every_code_renders_in_both_languages(app: Flask, code: str) -> None:
    message = Text(code, _params(code))
    kept = [str(v) for v in message.params.values() if not isinstance(v, Text)]
    danish = message.danish()
    with app.test_request_context(), force_locale("en"):
        english = message.shown()
    with app.test_request_context(), force_locale("da"):
        assert message.shown() == danish
    assert "%(" not in danish and "%(" not in english
    if code not in SAME_IN_ENGLISH:
        assert english != danish, f"{code} has no English translation: {danish!r}"
    assert not re.search(r"[æøåÆØÅ]", english.replace("Værdi", "")), english
    for value in kept:
        assert value in danish and value in english, (code, value, english)


def test_unknown_caseworker_uses_the_plural_form(app: Flask) -> None:
    one = text("unknown_caseworker", initials="ABC", num=1)
    many = text("unknown_caseworker", initials="ABC", num=3)
    assert "(1 sag i filen)" in one.danish() and "(3 sager i filen)" in many.danish()
    with app.test_request_context(), force_locale("en"):
        assert "ABC" in one.shown() and "1 case " in one.shown()
        assert "ABC" in many.shown() and "3 cases " in many.shown()


def test_columns_named_by_tilsyn_are_translated_headers_from_the_file_are_not(app: Flask) -> None:
    sheet = text("sheet_label", num=2, title="Ark med data")
    named = RowError(3, text("sheet_column", sheet=sheet, column=3), "cpr")
    from_file = RowError(3, "Sagsbehandler", "required")
    assert named.column_name == "Ark 2 «Ark med data», kolonne 3"
    with app.test_request_context(), force_locale("en"):
        other = named.shown().column
        assert other is not None
        assert "Sheet 2" in other and "Ark med data" in other and "column 3" in other.lower()
        # A header taken from the file is the user's own text.
        assert from_file.shown().column == "Sagsbehandler"
        assert RowError(0, None, "empty").shown().column is None
        # A message made elsewhere (a service error) is shown as it is, never dropped.
        assert RowError(0, None, "text", {"text": "Noget helt andet"}).shown().reason == (
            "Noget helt andet"
        )


def test_shown_error_keeps_row_and_value_and_round_trips_through_json(app: Flask) -> None:
    error = RowError(5, text("column_number", num=2), "int", {}, "tre")
    assert RowError.from_json(error.to_json()) == error
    nested = RowError(
        1, "Sagsstart", "missing_column", {"header": "X", "label": field_label("start_date")}
    )
    assert RowError.from_json(nested.to_json()) == nested
    with app.test_request_context(), force_locale("en"):
        shown = error.shown()
    assert (shown.row, shown.value) == (5, "tre")
    assert shown.reason != error.reason == "Ikke et helt tal"
    assert shown.column == "Column 2"


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(KeyError):
        Text("no_such_code")
