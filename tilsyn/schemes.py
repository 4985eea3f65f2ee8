"""Schemes (*ordninger*) known to tilsyn, with their stable codes and Danish labels."""

from __future__ import annotations

SCHEMES: dict[str, str] = {
    "sygedagpenge": "Sygedagpenge",
    "jobafklaring": "Jobafklaringsforløb",
    "ressourceforloeb": "Ressourceforløb",
    "fleksjob": "Fleksjob",
    "ledighedsydelse": "Ledighedsydelse",
    "kontanthjaelp": "Kontanthjælp",
    "foertidspension": "Førtidspension",
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
    """Return the scheme code for a code or Danish label (case-insensitive), or None."""
    key = " ".join(value.strip().lower().split())
    if key in SCHEMES:
        return key
    for code, label in SCHEMES.items():
        if label.lower() == key:
            return code
    return _ALIASES.get(key)
