"""Readable (translatable) names for the audit log's action and object-type codes.

The codes are stored as written by the services (``view``, ``case_risk``); the audit page and its
filter show these labels. A code without a label (a feature added later) is shown readably as
its words (``import_preview`` -> "Import preview") rather than raw.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, LazyString] = {
    "approve": _l("Godkendt"),
    "create": _l("Oprettet"),
    "demo": _l("Demodata indlæst"),
    "draw": _l("Stikprøve trukket"),
    "export": _l("Eksporteret"),
    "import": _l("Sagsudtræk indlæst"),
    "import_aborted": _l("Import afbrudt"),
    "import_preview": _l("Import forhåndsvist"),
    "import_refused": _l("Import afvist"),
    "load": _l("Indlæst"),
    "lockout": _l("Spærret efter mislykkede logins"),
    "login": _l("Logget ind"),
    "login_blocked": _l("Login afvist (spærret)"),
    "login_failed": _l("Mislykket login"),
    "password_change": _l("Adgangskode skiftet"),
    "replace_draw": _l("Stikprøve trukket igen"),
    "sessions_ended": _l("Sessioner afsluttet"),
    "status": _l("Status ændret"),
    "update": _l("Ændret"),
    "verify": _l("Stikprøve kontrolleret"),
    "version": _l("Ny version"),
    "view": _l("Vist"),
}

OBJECT_TYPE_LABELS: dict[str, LazyString] = {
    "address": _l("Klientadresse"),
    "case_risk": _l("Risikofaktorer for sag"),
    "caseworker": _l("Sagsbehandler"),
    "catalogue": _l("Kontrolpunktskatalog"),
    "control_point": _l("Kontrolpunkt"),
    "draw": _l("Stikprøve"),
    "own_cases": _l("Egne sager"),
    "plan": _l("Tilsynsplan"),
    "risk_model_version": _l("Risikomodelversion"),
    "round": _l("Tilsynsrunde"),
    "snapshot": _l("Sagsudtræk"),
    "system": _l("System"),
    "theme": _l("Tema"),
    "unit": _l("Enhed"),
    "user": _l("Bruger"),
}


def _readable(code: str) -> str:
    words = code.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "—"


def action_label(code: str) -> str:
    """The label of an audit action code (readable words for an unknown code)."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else _readable(code)


def object_type_label(code: str) -> str:
    """The label of an audit object-type code (readable words for an unknown code)."""
    label = OBJECT_TYPE_LABELS.get(code)
    return str(label) if label is not None else _readable(code)
