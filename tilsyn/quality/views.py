"""Quality pages: *Metodekontrol* (census coverage of the sample intervals)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from tilsyn.extensions import db
from tilsyn.permissions import requires
from tilsyn.quality.method_page import method_page

bp = Blueprint("quality", __name__, url_prefix="/kvalitet")


@bp.route("/metodekontrol")
@requires("quality.view")
def method_check() -> str:
    return render_template("quality/method_check.html", page=method_page(db.session, current_user))
