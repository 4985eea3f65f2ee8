"""Import error messages in the UI language.

The parser and the import service make and keep every error in Danish (the kept report of a
refused upload, ``tilsyn import --json``, the command line); see the ``MSG_*`` templates in
:mod:`tilsyn.cases.parsing`. The web pages and the downloadable report show them in the UI
language: :func:`translate_error` recognises a Danish reason or column by its template and
renders the translation with the same values. Text it does not recognise (a header from the
file, a message made elsewhere) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache

from flask_babel import LazyString, get_locale, ngettext
from flask_babel import lazy_gettext as _l

from tilsyn.cases import parsing
from tilsyn.cases.mapping import FIELD_LABELS

# Danish messages of the import service (kept with the parser's so one table translates all).
MSG_NO_CASES = "Filen indeholder ingen sager."
MSG_CHANGED = "Filen ændrede sig under indlæsningen – indlæs den igen."
MSG_UNKNOWN_CASEWORKER = "Sagsbehandleren «{initials}» findes ikke i tilsyn ({cases} sag i filen)."
MSG_UNKNOWN_CASEWORKERS = (
    "Sagsbehandleren «{initials}» findes ikke i tilsyn ({cases} sager i filen)."
)


def unknown_caseworker_reason(initials: str, cases: int) -> str:
    """The (Danish) reason for initials with no caseworker in tilsyn."""
    template = MSG_UNKNOWN_CASEWORKER if cases == 1 else MSG_UNKNOWN_CASEWORKERS
    return template.format(initials=initials, cases=cases)


#: The canonical fields' names in the UI language (``mapping.FIELD_LABELS`` holds the Danish).
FIELD_LABELS_UI: dict[str, LazyString] = {
    "case_ref": _l("Sags-ID"),
    "caseworker": _l("Sagsbehandler (initialer)"),
    "scheme": _l("Ordning"),
    "start_date": _l("Sagsstart"),
    "team": _l("Team"),
    "caseworker_name": _l("Sagsbehandlers navn"),
    "last_conversation": _l("Seneste samtale"),
    "conversations_12m": _l("Samtaler seneste 12 måneder"),
    "reassessment_due": _l("Frist for revurdering"),
    "caseworker_changes_12m": _l("Sagsbehandlerskift seneste 12 måneder"),
    "job_goal": _l("Jobmål registreret"),
    "cv_on_jobnet": _l("CV på Jobnet"),
    "weekly_hours": _l("Ugentlige timer"),
}

Render = Callable[[Mapping[str, str]], str]


def _text(message: LazyString) -> Render:
    """Render ``message`` (a msgid with the template's ``%(name)s`` placeholders)."""

    def render(values: Mapping[str, str]) -> str:
        text = str(message)
        return text % values if values else text

    return render


def _unknown_caseworker(values: Mapping[str, str]) -> str:
    return ngettext(
        "Sagsbehandleren «%(initials)s» findes ikke i tilsyn (%(num)d sag i filen).",
        "Sagsbehandleren «%(initials)s» findes ikke i tilsyn (%(num)d sager i filen).",
        int(values["cases"]),
        initials=values["initials"],
    )


#: Every Danish reason template with its translation. ``MSG_YEAR`` and ``MSG_TOO_BIG`` are
#: matched through their templates (their limits are filled in by the parser).
REASONS: tuple[tuple[str, Render], ...] = (
    (parsing.MSG_REQUIRED, _text(_l("Mangler værdi i påkrævet kolonne"))),
    (parsing.MSG_DATE, _text(_l("Ugyldig dato (forventet dd-mm-åååå)"))),
    (
        "Usandsynligt årstal (forventet mellem {low} og {high})",
        _text(_l("Usandsynligt årstal (forventet mellem %(low)s og %(high)s)")),
    ),
    (parsing.MSG_INT, _text(_l("Ikke et helt tal"))),
    (parsing.MSG_NEGATIVE, _text(_l("Må ikke være negativ"))),
    ("Urealistisk stort tal (højst {max})", _text(_l("Urealistisk stort tal (højst %(max)s)"))),
    (parsing.MSG_DECIMAL, _text(_l("Ikke et gyldigt tal (forventet fx 8,5)"))),
    (parsing.MSG_HOURS, _text(_l("Ugentlige timer skal være mellem 0 og 80"))),
    (parsing.MSG_BOOL, _text(_l("Ugyldig ja/nej-værdi (forventet Ja eller Nej)"))),
    (parsing.MSG_SCHEME, _text(_l("Ukendt ordning"))),
    (parsing.MSG_TOO_LONG, _text(_l("Værdien er for lang (højst %(n)s tegn)"))),
    (parsing.MSG_DUPLICATE, _text(_l("Sags-ID findes allerede i række %(row)s"))),
    (parsing.MSG_CPR, _text(_l("Ligner et CPR-nummer – filen afvises"))),
    (parsing.MSG_CPR_SHEET_NAME, _text(_l("Ligner et CPR-nummer – filen afvises (arkets navn)"))),
    (
        parsing.MSG_FIELD_COUNT,
        _text(_l("Forkert antal felter i rækken (forventet %(expected)s, fandt %(found)s)")),
    ),
    (parsing.MSG_EMPTY, _text(_l("Filen er tom"))),
    (parsing.MSG_MISSING_COLUMN, _text(_l("Påkrævet kolonne mangler: %(header)s (%(label)s)"))),
    (parsing.MSG_CONFLICT, _text(_l("Flere kolonner svarer til %(label)s: %(headers)s"))),
    (
        parsing.MSG_KIND,
        _text(_l("Filtypen %(ext)s understøttes ikke – gem filen som .csv eller .xlsx")),
    ),
    (
        parsing.MSG_XLS,
        _text(_l("Gammelt Excel-format (.xls) understøttes ikke – gem filen som .xlsx eller .csv")),
    ),
    (parsing.MSG_BAD_XLSX, _text(_l("Filen kunne ikke læses som Excel-fil (.xlsx)"))),
    (
        parsing.MSG_BAD_XLSX_AFTER_ROW,
        _text(_l("Filen kunne ikke læses som Excel-fil (.xlsx) (efter række %(row)s)")),
    ),
    (
        parsing.MSG_BAD_XLSX_SHEET,
        _text(_l("Filen kunne ikke læses som Excel-fil (.xlsx) (%(sheet)s)")),
    ),
    (parsing.MSG_NO_SHEET, _text(_l("Excel-filen indeholder intet regneark"))),
    (
        parsing.MSG_DECODE,
        _text(
            _l(
                "Filen kunne ikke læses med tegnsættet %(encoding)s (efter række %(row)s) – "
                "gem filen som UTF-8 eller Windows-1252"
            )
        ),
    ),
    (
        parsing.MSG_CSV,
        _text(
            _l(
                "Filen kunne ikke læses som CSV efter række %(row)s "
                "(et meget langt felt – mangler der et afsluttende anførselstegn?)"
            )
        ),
    ),
    (parsing.MSG_CONTROL, _text(_l("Værdien indeholder ugyldige kontroltegn"))),
    (parsing.MSG_MORE_ERRORS, _text(_l("Yderligere %(n)s fejl er ikke vist"))),
    (MSG_NO_CASES, _text(_l("Filen indeholder ingen sager."))),
    (MSG_CHANGED, _text(_l("Filen ændrede sig under indlæsningen – indlæs den igen."))),
    (MSG_UNKNOWN_CASEWORKER, _unknown_caseworker),
    (MSG_UNKNOWN_CASEWORKERS, _unknown_caseworker),
)

#: How errors name columns and sheets that have no header of their own.
COLUMNS: tuple[tuple[str, Render], ...] = (
    (parsing.COLUMN_NUMBER, _text(_l("Kolonne %(num)s"))),
    (parsing.SHEET_NUMBER, _text(_l("Ark %(num)s"))),
    (parsing.SHEET_LABEL, _text(_l("Ark %(num)s «%(title)s»"))),
    (parsing.SHEET_COLUMN, _text(_l("%(sheet)s, kolonne %(column)s"))),
)

#: What a placeholder may match (anything else: any text).
_PLACEHOLDER_PATTERNS = {
    name: r"-?\d+"
    for name in ("num", "row", "n", "expected", "found", "column", "low", "high", "max", "cases")
} | {"sheet": r"Ark \d+ «.*»"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>{_PLACEHOLDER_PATTERNS.get(name, '.*?')})")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _translate(text: str, table: tuple[tuple[str, Render], ...]) -> str | None:
    for template, render in table:
        match = _pattern(template).fullmatch(text)
        if match is not None:
            values = {k: _value(k, v) for k, v in match.groupdict().items()}
            return render(values)
    return None


_DANISH_FIELD_LABELS = {label: name for name, label in FIELD_LABELS.items()}


def _value(name: str, value: str) -> str:
    """A placeholder's value in the UI language where it is one of tilsyn's own words."""
    if name == "label" and value in _DANISH_FIELD_LABELS:
        return str(FIELD_LABELS_UI[_DANISH_FIELD_LABELS[value]])
    if name == "sheet":
        return translate_column(value) or value
    if name == "ext" and value == parsing.UNKNOWN_EXTENSION:
        return str(_l("(ukendt)"))
    return value


def _danish() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "da"


def translate_reason(reason: str) -> str:
    """``reason`` (Danish) in the UI language; unrecognised text unchanged."""
    if _danish():
        return reason
    translated = _translate(reason, REASONS)
    return reason if translated is None else translated


def translate_column(column: str | None) -> str | None:
    """An error's column in the UI language when it is one tilsyn named (``Kolonne 3``)."""
    if column is None or _danish():
        return column
    translated = _translate(column, COLUMNS)
    return column if translated is None else translated


def translate_error(error: parsing.RowError) -> parsing.RowError:
    """``error`` with its reason and column in the UI language."""
    if _danish():
        return error
    return replace(
        error, reason=translate_reason(error.reason), column=translate_column(error.column)
    )
