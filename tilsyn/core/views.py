"""Start pages per role."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.core import services
from tilsyn.extensions import db
from tilsyn.feedback.pages import open_action_lines, released_case_refs, unread_count
from tilsyn.org.models import Unit
from tilsyn.permissions import authenticated, can_see_unit, requires, start_endpoint
from tilsyn.results.views import overview_html
from tilsyn.schemes import SCHEMES

bp = Blueprint("core", __name__)


@bp.route("/")
@authenticated
def index() -> Response:
    return redirect(url_for(start_endpoint(current_user)))


@bp.route("/mine-teams")
@requires("leader.home")
def leader_home() -> str:
    summaries = services.unit_summaries(db.session, current_user, date.today())
    return render_template("core/leader_home.html", summaries=summaries)


@bp.route("/mine-teams/<int:unit_id>")
@requires("leader.home")
def team(unit_id: int) -> str:
    """One unit's caseworkers and caseloads: the leader's own units (all units for admin)."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    if not can_see_unit(current_user, unit):
        abort(403)
    overview = services.team_overview(db.session, unit, date.today())
    return render_template("core/team.html", overview=overview)


@bp.route("/mine-sager")
@requires("own.view")
def my_cases() -> str:
    snapshot, cases = services.own_cases(db.session, current_user)
    return render_template(
        "core/my_cases.html",
        snapshot=snapshot,
        cases=cases,
        schemes=SCHEMES,
        unread_feedback=unread_count(db.session, current_user),
        feedback_refs=released_case_refs(db.session, current_user),
        open_actions=open_action_lines(db.session, current_user, date.today()),
    )


@bp.route("/overblik")
@requires("org.overview")
def director_home() -> str:
    return render_template(
        "core/director_home.html",
        overview=services.org_overview(db.session),
        results_html=overview_html(),
    )
