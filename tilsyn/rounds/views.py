"""Plans, the round calendar and the actions on a round (draw, themes, status).

The round page itself and the page for a new round show review progress and estimates, so they
live a layer up, in :mod:`tilsyn.reviews.round_pages` (endpoints ``round_pages.*``).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.catalogue.points import list_themes
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.org.models import Unit
from tilsyn.permissions import (
    can_manage_plan,
    can_plan_org_wide,
    can_see_plan,
    requires,
    unit_filter,
)
from tilsyn.risk.population import open_actions_at, prior_findings_at
from tilsyn.rounds.calendar import plan_calendars
from tilsyn.rounds.forms import CORE, DrawForm, StatusForm, ThemesForm, plan_form
from tilsyn.rounds.models import (
    STATUSES,
    WHOLE_ORGANISATION,
    RotationMode,
    Round,
    RoundStatus,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Cadence
from tilsyn.rounds.plans import PlanInput, list_plans, save_plan
from tilsyn.rounds.rounds import draw_round, followup_allowance_at, transition
from tilsyn.rounds.themes import set_round_themes
from tilsyn.sampling.models import Draw
from tilsyn.settings import local_today
from tilsyn.web import attempt, new_or_edit, submit

bp = Blueprint("rounds", __name__, url_prefix="/tilsyn")

#: The round page (in :mod:`tilsyn.reviews.round_pages`).
ROUND_PAGE = "round_pages.round_page"


def plan_or_404(plan_id: int) -> SupervisionPlan:
    """The plan, if the current user may see it (else 404)."""
    plan = db.session.get(SupervisionPlan, plan_id)
    if plan is None or not can_see_plan(current_user, plan):
        abort(404)
    return plan


def round_or_404(round_id: int) -> Round:
    """The round, if the current user may see its plan (else 404)."""
    rnd = db.session.get(Round, round_id)
    if rnd is None or not can_see_plan(current_user, rnd.plan):
        abort(404)
    return rnd


def _managed_round(round_id: int) -> Round:
    rnd = round_or_404(round_id)
    if not can_manage_plan(current_user, rnd.plan):
        abort(403)
    return rnd


def today() -> date:
    """Today in the installation's time zone (Europe/Copenhagen), as the scheduler sees it."""
    return local_today(current_app.config)


@bp.route("/")
@requires("rounds.view")
def calendar() -> str:
    return render_template(
        "rounds/calendar.html",
        plans=plan_calendars(db.session, current_user, today()),
        statuses=STATUSES,
    )


@bp.route("/planer")
@requires("plans.view")
def plans() -> str:
    plan_list = list_plans(db.session, current_user)
    return render_template(
        "rounds/plans.html",
        plans=plan_list,
        manageable={p.id for p in plan_list if can_manage_plan(current_user, p)},
    )


@new_or_edit(bp, "/planer/ny", "/planer/<int:plan_id>")
@requires("plans.edit")
def plan_edit(plan_id: int | None) -> str | Response:
    plan = plan_or_404(plan_id) if plan_id else None
    if plan is not None and not can_manage_plan(current_user, plan):
        abort(403)
    themes = list_themes(db.session)
    form = plan_form(themes, obj=plan)
    units = db.session.scalars(select(Unit).where(unit_filter(current_user)).order_by(Unit.name))
    unit_choices = [(str(u.id), u.name) for u in units]
    if can_plan_org_wide(current_user):
        unit_choices.insert(0, ("", str(WHOLE_ORGANISATION)))
    form.unit_id.choices = choices(unit_choices)
    if not form.is_submitted():
        if plan is not None:
            form.unit_id.data = "" if plan.unit_id is None else str(plan.unit_id)
            form.schemes.data = list(plan.schemes or [])
            core_set = {t.id for t in plan.core_themes}
            order = {r.theme_id: i + 1 for i, r in enumerate(plan.rotating)}
            for field in form.theme_fields():
                tid = int(field.name.removeprefix("theme_"))
                field.data = CORE if tid in core_set else str(order.get(tid, ""))
        else:
            for theme, field in zip(themes, form.theme_fields(), strict=True):
                field.data = CORE if theme.is_core else ""
    if form.validate_on_submit():
        core_ids, rotating_ids = form.theme_roles()
        data = PlanInput(
            name=form.name.data or "",
            unit_id=int(form.unit_id.data) if form.unit_id.data else None,
            cadence=form.cadence.data or Cadence.QUARTERLY,
            per_caseworker=form.per_caseworker.data or 0,
            new_caseworker=form.new_caseworker.data or 0,
            new_months=form.new_months.data or 0,
            lam=float(form.lam.data or 0),
            by_scheme=form.by_scheme.data,
            exclude_recent_rounds=form.exclude_recent_rounds.data or 0,
            schemes=list(form.schemes.data or []),
            core_theme_ids=core_ids,
            rotating_theme_ids=rotating_ids,
            rotation_mode=form.rotation_mode.data or RotationMode.SEQUENCE,
            rotating_per_round=form.rotating_per_round.data or 0,
            review_weeks=form.review_weeks.data or 0,
            snapshot_max_age_days=form.snapshot_max_age_days.data or 0,
            starts_on=form.starts_on.data,
            active=form.active.data,
        )
        if attempt(
            lambda: save_plan(db.session, current_user, plan, data, today()),
            success=_("Planen er gemt."),
        ):
            return redirect(url_for("rounds.plans"))
    return render_template("rounds/plan_edit.html", form=form, plan=plan, themes=themes)


def _draw(rnd: Round, form: DrawForm) -> Draw:
    """Draw the round's sample from the latest case export, as the draw form asks."""
    snapshot = latest_snapshot(db.session)
    return draw_round(
        db.session,
        current_user,
        rnd,
        reason=form.reason.data or "",
        snapshot=snapshot,
        prior_findings=prior_findings_at(db.session, snapshot.as_of) if snapshot else {},
        replaces=form.replaces.raw_data[0] if form.replaces.raw_data else None,
        open_actions=open_actions_at(db.session, snapshot.as_of) if snapshot else None,
        extra_cases=(
            followup_allowance_at(db.session, rnd.plan_id, snapshot.as_of) if snapshot else {}
        ),
    )


@bp.route("/runder/<int:round_id>/traek", methods=["POST"])
@requires("rounds.manage")
def draw(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = DrawForm()
    submit(
        form,
        lambda: _draw(rnd, form),
        invalid=_("Begrundelsen er for lang eller indeholder ugyldige tegn."),
        success=lambda draw: _("Stikprøven er trukket: %(n)d sager.", n=draw.sample_size),
    )
    return redirect(url_for(ROUND_PAGE, round_id=rnd.id))


@bp.route("/runder/<int:round_id>/temaer", methods=["POST"])
@requires("rounds.manage")
def themes(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = ThemesForm()
    form.rotating.choices = choices((str(t.id), t.name) for t in rnd.plan.rotating_themes)
    submit(
        form,
        lambda: set_round_themes(
            db.session, current_user, rnd, [int(x) for x in form.rotating.data or []]
        ),
        invalid=_("Vælg blandt planens roterende temaer."),
        success=_("Rundens temaer er gemt."),
    )
    return redirect(url_for(ROUND_PAGE, round_id=rnd.id))


@bp.route("/runder/<int:round_id>/status", methods=["POST"])
@requires("rounds.manage")
def status(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if form.target.data == RoundStatus.CLOSED and form.confirmed.data != "1":
        # Closing asks first, on a page that says what is still missing.
        return redirect(url_for("round_pages.close_round", round_id=rnd.id))
    if attempt(lambda: transition(db.session, current_user, rnd, form.target.data or "")):
        flash(_("Status er ændret til «%(s)s».", s=rnd.status_label), "success")
    return redirect(url_for(ROUND_PAGE, round_id=rnd.id))
