"""Readable (translatable) names for the audit log's action and object-type codes.

The codes are stored as written by the services (``view``, ``case_risk``); the audit page and its
filter show these labels. ``tests/test_audit_labels.py`` reads every ``record(...)`` call in
``tilsyn/`` and fails on a code without a label here, so a feature's new code gets its Danish
label (and English translation) with it. Should one slip through anyway, it is shown as its words
(``import_preview`` -> "Import preview") rather than raw.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, LazyString] = {
    "acknowledge": _l("Kvitteret"),
    "approve": _l("Godkendt"),
    "assign": _l("Tildelt"),
    "comment": _l("Kommenteret"),
    "complete": _l("Afsluttet"),
    "create": _l("Oprettet"),
    "demo": _l("Demodata indlæst"),
    "draw": _l("Stikprøve trukket"),
    "export": _l("Eksporteret"),
    "import": _l("Sagsudtræk indlæst"),
    "import_aborted": _l("Import afbrudt"),
    "import_error_report": _l("Fejlrapport hentet"),
    "import_preview": _l("Import forhåndsvist"),
    "import_refused": _l("Import afvist"),
    "load": _l("Indlæst"),
    "lockout": _l("Spærret efter mislykkede logins"),
    "login": _l("Logget ind"),
    "login_blocked": _l("Login afvist (spærret)"),
    "login_failed": _l("Mislykket login"),
    "password_change": _l("Adgangskode skiftet"),
    "release": _l("Frigivet"),
    "reopen": _l("Genåbnet"),
    "replace_draw": _l("Stikprøve trukket igen"),
    "resolve": _l("Afgjort"),
    "sessions_ended": _l("Sessioner afsluttet"),
    "status": _l("Status ændret"),
    "update": _l("Ændret"),
    "verify": _l("Stikprøve kontrolleret"),
    "version": _l("Ny version"),
    "view": _l("Vist"),
}

OBJECT_TYPE_LABELS: dict[str, LazyString] = {
    "address": _l("Klientadresse"),
    "answers": _l("Svar"),
    "calibration": _l("Kalibrering"),
    "calibration_case": _l("Kalibreringssag"),
    "calibration_setting": _l("Kalibreringsindstilling"),
    "case_review": _l("Sagsgennemgang"),
    "case_risk": _l("Risikofaktorer for sag"),
    "caseworker": _l("Sagsbehandler"),
    "catalogue": _l("Kontrolpunktskatalog"),
    "control_point": _l("Kontrolpunkt"),
    "draw": _l("Stikprøve"),
    "feedback": _l("Feedback"),
    "feedback_register": _l("Feedbackregister"),
    "followup_action": _l("Opfølgningspunkt"),
    "followup_actions": _l("Opfølgningspunkter"),
    "notice_preference": _l("Beskedindstilling"),
    "own_actions": _l("Egne opfølgningspunkter"),
    "own_cases": _l("Egne sager"),
    "own_feedback": _l("Egen feedback"),
    "plan": _l("Tilsynsplan"),
    "plan_feedback": _l("Planens feedbackindstillinger"),
    "risk_model_version": _l("Risikomodelversion"),
    "round": _l("Tilsynsrunde"),
    "round_feedback": _l("Rundens feedback"),
    "round_reviews": _l("Rundens gennemgange"),
    "scale": _l("Svarskala"),
    "snapshot": _l("Sagsudtræk"),
    "system": _l("System"),
    "theme": _l("Tema"),
    "unacknowledged_feedback": _l("Feedback, som ikke er kvitteret"),
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
