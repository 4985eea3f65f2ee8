"""The canonical fields of a case: what every column mapping maps and every import stores.

Defined once here; the column mappings (:mod:`tilsyn.cases.mapping`), the parser's records and
the import's messages all take them from this module.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a msgid for extraction without translating it (it is translated when shown)."""
    return message


#: Canonical fields that every mapping must map and every file must contain.
REQUIRED_FIELDS: tuple[str, ...] = ("case_ref", "caseworker", "scheme", "start_date")

#: Canonical fields that may be absent from a file.
OPTIONAL_FIELDS: tuple[str, ...] = (
    "team",
    "caseworker_name",
    "last_conversation",
    "conversations_12m",
    "reassessment_due",
    "caseworker_changes_12m",
    "job_goal",
    "cv_on_jobnet",
    "weekly_hours",
)

CANONICAL_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS
#: The optional fields a case stores as the file gives them (its details), in column order.
CASE_DETAILS: tuple[str, ...] = OPTIONAL_FIELDS[2:]

#: The canonical fields' names: Danish msgids (shown translated, recorded as they are).
FIELD_LABELS: dict[str, str] = {
    "case_ref": N_("Sags-ID"),
    "caseworker": N_("Sagsbehandler (initialer)"),
    "scheme": N_("Ordning"),
    "start_date": N_("Sagsstart"),
    "team": N_("Team"),
    "caseworker_name": N_("Sagsbehandlers navn"),
    "last_conversation": N_("Seneste samtale"),
    "conversations_12m": N_("Samtaler seneste 12 måneder"),
    "reassessment_due": N_("Frist for revurdering"),
    "caseworker_changes_12m": N_("Sagsbehandlerskift seneste 12 måneder"),
    "job_goal": N_("Jobmål registreret"),
    "cv_on_jobnet": N_("CV på Jobnet"),
    "weekly_hours": N_("Ugentlige timer"),
}
