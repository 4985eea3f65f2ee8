"""Import errors as codes with parameters, and the one catalogue that words them.

An error is made as a code and its parameters (:class:`RowError`); nothing is worded until it is
shown. :data:`CATALOGUE` maps every code to its Danish msgid (a ``%(name)s`` template, marked for
extraction with ``N_``). :meth:`Text.danish` words it in Danish, as it is recorded (the kept report
of a refused upload is re-worded from its codes; ``tilsyn import --json``, the command line and
the audit log are Danish); :meth:`Text.shown` words it in the reader's language (web pages, the
downloadable error report). A parameter may itself be a :class:`Text` (a field's name, a sheet),
worded in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask_babel import gettext

from tilsyn.cases.fields import FIELD_LABELS, N_

#: Every error message (code -> Danish msgid). Plural pairs: ``<code>`` / ``<code>.plural``,
#: chosen by the ``num`` parameter.
CATALOGUE: dict[str, str] = {
    # Cell values.
    "required": N_("Mangler værdi i påkrævet kolonne"),
    "date": N_("Ugyldig dato (forventet dd-mm-åååå)"),
    "year": N_("Usandsynligt årstal (forventet mellem %(low)s og %(high)s)"),
    "int": N_("Ikke et helt tal"),
    "negative": N_("Må ikke være negativ"),
    "too_big": N_("Urealistisk stort tal (højst %(max)s)"),
    "decimal": N_("Ikke et gyldigt tal (forventet fx 8,5)"),
    "hours": N_("Ugentlige timer skal være mellem 0 og 80"),
    "bool": N_("Ugyldig ja/nej-værdi (forventet Ja eller Nej)"),
    "scheme": N_("Ukendt ordning"),
    "too_long": N_("Værdien er for lang (højst %(n)s tegn)"),
    "control": N_("Værdien indeholder ugyldige kontroltegn"),
    "duplicate": N_("Sags-ID findes allerede i række %(row)s"),
    "cpr": N_("Ligner et CPR-nummer – filen afvises"),
    "cpr_sheet_name": N_("Ligner et CPR-nummer – filen afvises (arkets navn)"),
    "cpr_filename": N_("Filnavnet ligner et CPR-nummer – filen afvises. Omdøb filen og prøv igen."),
    "field_count": N_("Forkert antal felter i rækken (forventet %(expected)s, fandt %(found)s)"),
    # The file.
    "empty": N_("Filen er tom"),
    "missing_column": N_("Påkrævet kolonne mangler: %(header)s (%(label)s)"),
    "conflict": N_("Flere kolonner svarer til %(label)s: %(headers)s"),
    "kind": N_("Filtypen %(ext)s understøttes ikke – gem filen som .csv eller .xlsx"),
    "xls": N_("Gammelt Excel-format (.xls) understøttes ikke – gem filen som .xlsx eller .csv"),
    "bad_xlsx": N_("Filen kunne ikke læses som Excel-fil (.xlsx)"),
    "bad_xlsx_after_row": N_("Filen kunne ikke læses som Excel-fil (.xlsx) (efter række %(row)s)"),
    "bad_xlsx_sheet": N_("Filen kunne ikke læses som Excel-fil (.xlsx) (%(sheet)s)"),
    "no_sheet": N_("Excel-filen indeholder intet regneark"),
    "decode": N_(
        "Filen kunne ikke læses med tegnsættet %(encoding)s (efter række %(row)s) – "
        "gem filen som UTF-8 eller Windows-1252"
    ),
    "csv": N_(
        "Filen kunne ikke læses som CSV efter række %(row)s "
        "(et meget langt felt – mangler der et afsluttende anførselstegn?)"
    ),
    "too_many_rows": N_(
        "Filen har flere end %(max)s rækker – del den op, eller bed en administrator hæve grænsen"
    ),
    "too_many_columns": N_(
        "Filen har flere end %(max)s kolonner (række %(row)s) – gem kun sagsudtrækkets kolonner"
    ),
    "too_large_unpacked": N_(
        "Excel-filen fylder mere end %(max)s MB udpakket – gem den som CSV, eller del den op"
    ),
    "more_errors": N_("Yderligere %(n)s fejl er ikke vist"),
    "as_of_future": N_(
        "Udtrækkets dato %(as_of)s ligger i fremtiden – vælg den dato, filen er pr."
    ),
    "as_of_too_old": N_(
        "Udtrækkets dato ligger mere end %(days)s dage tilbage – vælg den dato, filen er pr."
    ),
    "start_after_as_of": N_("Sagen starter efter udtrækkets dato (%(as_of)s)"),
    # The import.
    "no_cases": N_("Filen indeholder ingen sager."),
    "changed": N_("Filen ændrede sig under indlæsningen – indlæs den igen."),
    "unknown_caseworker": N_(
        "Sagsbehandleren «%(initials)s» findes ikke i tilsyn (%(num)s sag i filen)."
    ),
    "unknown_caseworker.plural": N_(
        "Sagsbehandleren «%(initials)s» findes ikke i tilsyn (%(num)s sager i filen)."
    ),
    # How errors name what has no header of its own.
    "column_number": N_("Kolonne %(num)s"),
    "sheet_number": N_("Ark %(num)s"),
    "sheet_label": N_("Ark %(num)s «%(title)s»"),
    "sheet_column": N_("%(sheet)s, kolonne %(column)s"),
    "unknown_extension": N_("(ukendt)"),
    # The canonical fields' names.
    **{f"field.{name}": label for name, label in FIELD_LABELS.items()},
}

#: Codes whose message has a plural form (chosen by the ``num`` parameter).
PLURALS = frozenset(code for code in CATALOGUE if f"{code}.plural" in CATALOGUE)
#: A message made elsewhere, already worded (parameter ``text``): shown as it is.
VERBATIM = "text"


@dataclass(frozen=True, slots=True)
class Text:
    """A message as a code and its parameters, worded only when shown."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code != VERBATIM and self.code not in CATALOGUE:
            raise KeyError(f"unknown message code {self.code!r}")

    def _template(self) -> str:
        if self.code in PLURALS and self.params.get("num") != 1:
            return CATALOGUE[f"{self.code}.plural"]
        return CATALOGUE[self.code]

    def _word(self, translate: bool) -> str:
        if self.code == VERBATIM:
            return str(self.params.get("text", ""))
        values = {k: word(v, translate) for k, v in self.params.items()}
        template = self._template()
        if translate:
            return gettext(template, **values) if values else gettext(template)
        return template % values if values else template

    def danish(self) -> str:
        """The message in Danish (as it is recorded)."""
        return self._word(False)

    def shown(self) -> str:
        """The message in the reader's language (needs an app or request context)."""
        return self._word(True)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: _param_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Text:
        params = {k: _param_from_json(v) for k, v in dict(data.get("params") or {}).items()}
        return cls(str(data["code"]), params)


def text(code: str, **params: Any) -> Text:
    """``Text(code, params)``."""
    return Text(code, params)


def verbatim(message: str) -> Text:
    """A message that is already worded (e.g. a service error's message)."""
    return Text(VERBATIM, {"text": message})


def field_label(name: str) -> Text:
    """A canonical field's name (see ``mapping.FIELD_LABELS``)."""
    return Text(f"field.{name}")


def word(value: Any, translate: bool) -> Any:
    """A parameter as it is shown: a :class:`Text` worded, anything else as it is."""
    if isinstance(value, Text):
        return value.shown() if translate else value.danish()
    return value


def _param_json(value: Any) -> Any:
    return {"text": value.to_json()} if isinstance(value, Text) else value


def _param_from_json(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("text"), dict):
        return Text.from_json(value["text"])
    return value


class ShownError(NamedTuple):
    """An error worded for one reader (see :meth:`RowError.shown`)."""

    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file.

    ``row`` is the file's row number (header = 1; 0 for file-level problems), ``column`` the
    file's header text, or a :class:`Text` where tilsyn names the column (``Kolonne 3``), or
    None; ``code`` and ``params`` the problem (see :data:`CATALOGUE`); ``value`` the offending
    value when it is safe to show (never a CPR-like value, at most 40 characters).
    """

    row: int
    column: str | Text | None
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    value: str | None = None

    @property
    def message(self) -> Text:
        return Text(self.code, self.params)

    @property
    def reason(self) -> str:
        """The problem in Danish (as it is recorded)."""
        return self.message.danish()

    @property
    def column_name(self) -> str | None:
        """The column in Danish (as it is recorded)."""
        return word(self.column, False)  # type: ignore[no-any-return]

    def shown(self) -> ShownError:
        """The error worded in the reader's language."""
        return ShownError(self.row, word(self.column, True), self.value, self.message.shown())

    def to_json(self) -> list[Any]:
        column = self.column.to_json() if isinstance(self.column, Text) else self.column
        return [self.row, column, self.message.to_json(), self.value]

    @classmethod
    def from_json(cls, data: list[Any]) -> RowError:
        row, column, message, value = data
        if isinstance(column, dict):
            column = Text.from_json(column)
        parsed = Text.from_json(message)
        return cls(int(row), column, parsed.code, parsed.params, value)


def file_error(code: str, **params: Any) -> RowError:
    """An error about the whole file (row 0, no column)."""
    return RowError(0, None, code, params)
