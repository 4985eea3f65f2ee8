"""Browsing the audit log (admin, revisor)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from tilsyn.audit import services
from tilsyn.audit.forms import AuditFilterForm
from tilsyn.audit.labels import action_label, object_type_label
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import requires

bp = Blueprint("audit", __name__, url_prefix="/revisionslog")


def _time_heading(timezone: str) -> str:
    if timezone == "Europe/Copenhagen":
        return _("Tidspunkt (dansk tid)")
    return _("Tidspunkt (%(zone)s)", zone=timezone)


@bp.route("/")
@requires("audit.view")
def index() -> str:
    timezone = str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or services.LOCAL_TIMEZONE)
    form = AuditFilterForm(request.args)
    values = services.distinct_values(db.session)
    actions = sorted(((a, action_label(a)) for a in values["actions"]), key=lambda p: p[1])
    types = sorted(((o, object_type_label(o)) for o in values["object_types"]), key=lambda p: p[1])
    form.action.choices = choices([("", "—"), *actions])
    form.object_type.choices = choices([("", "—"), *types])
    # Unparsable or out-of-range values are shown as field errors and left out of the filter.
    form.validate()

    def value(field: Any) -> Any:
        return None if field.errors else field.data

    filters = services.AuditFilter(
        actor=(value(form.actor) or "").strip(),
        action=value(form.action) or "",
        object_type=value(form.object_type) or "",
        date_from=value(form.date_from),
        date_to=value(form.date_to),
        timezone=timezone,
    )
    page = request.args.get("side", 1, type=int) or 1
    events, total = services.search(db.session, filters, page=page)
    pages = max((total + 49) // 50, 1)
    page = min(max(page, 1), pages)
    args = {k: v for k, v in request.args.items() if k != "side"}
    return render_template(
        "audit/index.html",
        form=form,
        events=events,
        total=total,
        page=page,
        pages=pages,
        args=args,
        time_heading=_time_heading(timezone),
        action_label=action_label,
        object_type_label=object_type_label,
    )
