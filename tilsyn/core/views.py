"""Start pages per role."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.core import services
from tilsyn.core.quarter import round_cards, unit_rounds
from tilsyn.extensions import db
from tilsyn.feedback.attention import ack_threshold, pending_notices, unacknowledged
from tilsyn.feedback.pages import (
    ActionFilter,
    leader_actions,
    open_action_lines,
    released_case_refs,
    unread_count,
)
from tilsyn.formatting import is_past
from tilsyn.org.models import Unit
from tilsyn.permissions import authenticated, can_see_unit, requires, start_endpoint
from tilsyn.results.views import followup_html, overview_html
from tilsyn.schemes import SCHEMES

bp = Blueprint("core", __name__)


@bp.route("/")
@authenticated
def index() -> Response:
    return redirect(url_for(start_endpoint(current_user)))


@bp.route("/mine-teams")
@requires("leader.home")
def leader_home() -> str:
    today = date.today()
    summaries = services.unit_summaries(db.session, current_user, today)
    cards = round_cards(db.session, current_user, today)
    threshold = ack_threshold(current_app.config)
    return render_template(
        "core/leader_home.html",
        summaries=summaries,
        cards=cards,
        actions=leader_actions(db.session, current_user, ActionFilter(status="open"), today),
        waiting=unacknowledged(db.session, current_user, today, threshold),
        ack_days=threshold,
        notices=pending_notices(db.session, current_user),
    )


@bp.route("/mine-teams/<int:unit_id>")
@requires("leader.home")
def team(unit_id: int) -> str:
    """One unit's caseworkers and caseloads: the leader's own units (all units for admin)."""
    unit = db.get_or_404(Unit, unit_id)
    if not can_see_unit(current_user, unit):
        abort(403)
    overview = services.team_overview(db.session, unit, date.today())
    rounds = unit_rounds(db.session, current_user, unit)
    return render_template("core/team.html", overview=overview, rounds=rounds)


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
        overdue=sum(1 for c in cases if is_past(c.reassessment_due)),
    )


@bp.route("/overblik")
@requires("org.overview")
def director_home() -> str:
    return render_template(
        "core/director_home.html",
        overview=services.org_overview(db.session),
        results_html=overview_html(),
        followup_html=followup_html(),
    )
