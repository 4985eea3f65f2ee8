"""Navigation per role: computed here, rendered by the base template."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tilsyn.permissions import has_permission

NAV: tuple[tuple[str, object, str], ...] = (
    ("core.leader_home", _l("Mine teams"), "leader.home"),
    ("core.my_cases", _l("Mine sager"), "own.view"),
    ("feedback.mine", _l("Min feedback"), "feedback.own"),
    ("feedback.my_actions", _l("Mine opfølgningspunkter"), "feedback.own"),
    ("core.director_home", _l("Overblik"), "org.overview"),
    ("results.index", _l("Resultater"), "results.view"),
    ("cases.snapshots", _l("Sagsudtræk"), "snapshots.view"),
    ("risk.assessment", _l("Risikovurdering"), "risk.view"),
    ("sampling.draws", _l("Stikprøver"), "sampling.view"),
    ("rounds.calendar", _l("Tilsynsrunder"), "rounds.view"),
    ("reviews.index", _l("Gennemgang"), "reviews.view"),
    ("feedback.actions_list", _l("Opfølgning"), "feedback.manage"),
    ("feedback.overview", _l("Opfølgning i tal"), "feedback.overview"),
    ("feedback.register", _l("Feedbackregister"), "feedback.register"),
    ("rounds.plans", _l("Tilsynsplaner"), "plans.view"),
    ("catalogue.index", _l("Kontrolpunkter"), "catalogue.view"),
    ("quality.method_check", _l("Metodekontrol"), "quality.view"),
    ("quality.calibration", _l("Kalibrering"), "quality.calibration"),
    ("audit.index", _l("Revisionslog"), "audit.view"),
    ("admin.index", _l("Administration"), "admin.manage"),
)


def nav_items() -> list[dict[str, object]]:
    """Menu entries the current user may open, with the active one marked."""
    visible = [
        (endpoint, label)
        for endpoint, label, permission in NAV
        if endpoint in current_app.view_functions and has_permission(current_user, permission)
    ]
    per_blueprint: dict[str, int] = {}
    for endpoint, _label in visible:
        bp = endpoint.split(".", 1)[0]
        per_blueprint[bp] = per_blueprint.get(bp, 0) + 1
    current = request.endpoint or ""
    items: list[dict[str, object]] = []
    for endpoint, label in visible:
        bp = endpoint.split(".", 1)[0]
        same_bp = bp != "core" and per_blueprint[bp] == 1 and current.startswith(bp + ".")
        items.append(
            {"endpoint": endpoint, "label": str(label), "active": current == endpoint or same_bp}
        )
    return items
