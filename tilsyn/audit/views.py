"""Browsing the audit log (admin, revisor)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from tilsyn.audit import services
from tilsyn.audit.forms import AuditFilterForm
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import requires

bp = Blueprint("audit", __name__, url_prefix="/revisionslog")


@bp.route("/")
@requires("audit.view")
def index() -> str:
    form = AuditFilterForm(request.args)
    values = services.distinct_values(db.session)
    form.action.choices = choices([("", "—")] + [(a, a) for a in values["actions"]])
    form.object_type.choices = choices([("", "—")] + [(o, o) for o in values["object_types"]])
    form.validate()  # unparsable dates become None and are shown as field errors
    filters = services.AuditFilter(
        actor=(form.actor.data or "").strip(),
        action=form.action.data or "",
        object_type=form.object_type.data or "",
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )
    page = request.args.get("side", 1, type=int) or 1
    events, total = services.search(db.session, filters, page=page)
    pages = max((total + 49) // 50, 1)
    args = {k: v for k, v in request.args.items() if k != "side"}
    return render_template(
        "audit/index.html", form=form, events=events, total=total, page=page, pages=pages, args=args
    )
