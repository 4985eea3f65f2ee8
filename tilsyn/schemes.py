"""Schemes (*ordninger*) known to tilsyn, with their stable codes and labels.

``SCHEME_NAMES_DA`` holds the Danish labels used in stored data (draw strata) and recognised in
case-system exports; ``SCHEMES`` holds the same labels translated into the UI language.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

SCHEME_NAMES_DA: dict[str, str] = {
    "sygedagpenge": "Sygedagpenge",
    "jobafklaring": "Jobafklaringsforløb",
    "ressourceforloeb": "Ressourceforløb",
    "fleksjob": "Fleksjob",
    "ledighedsydelse": "Ledighedsydelse",
    "kontanthjaelp": "Kontanthjælp",
    "foertidspension": "Førtidspension",
}

#: Labels shown in the UI (same codes and order as ``SCHEME_NAMES_DA``).
SCHEMES: dict[str, LazyString] = {
    "sygedagpenge": _l("Sygedagpenge"),
    "jobafklaring": _l("Jobafklaringsforløb"),
    "ressourceforloeb": _l("Ressourceforløb"),
    "fleksjob": _l("Fleksjob"),
    "ledighedsydelse": _l("Ledighedsydelse"),
    "kontanthjaelp": _l("Kontanthjælp"),
    "foertidspension": _l("Førtidspension"),
}

_ALIASES: dict[str, str] = {
    "jobafklaringsforløb": "jobafklaring",
    "jobafklaringsforloeb": "jobafklaring",
    "ressourceforløb": "ressourceforloeb",
    "kontanthjælp": "kontanthjaelp",
    "kontanthjælp (aktivitetsparat)": "kontanthjaelp",
    "kontanthjælp (jobparat)": "kontanthjaelp",
    "førtidspension": "foertidspension",
}


def scheme_code(value: str) -> str | None:
    """Return the scheme code for a code or Danish label (case-insensitive), or None.

    Only Danish labels are recognised, whatever the UI language, so an export reads the same
    for every user."""
    key = " ".join(value.strip().lower().split())
    if key in SCHEME_NAMES_DA:
        return key
    for code, label in SCHEME_NAMES_DA.items():
        if label.lower() == key:
            return code
    return _ALIASES.get(key)


def scheme_label(code: str) -> str:
    """The scheme's label in the UI language (Danish outside a request); unknown codes as is."""
    label = SCHEMES.get(code)
    return code if label is None else str(label)
