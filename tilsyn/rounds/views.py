"""Plans, the round calendar and the round page."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from tilsyn.catalogue import services as catalogue
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
from tilsyn.reviews import services as reviews
from tilsyn.rounds import services
from tilsyn.rounds.forms import CORE, DrawForm, NewRoundForm, StatusForm, ThemesForm, plan_form
from tilsyn.rounds.models import STATUSES, TRANSITIONS, WHOLE_ORGANISATION, Round, SupervisionPlan
from tilsyn.rounds.periods import period_by_label, period_containing
from tilsyn.rounds.scheduler import local_today

bp = Blueprint("rounds", __name__, url_prefix="/tilsyn")


def _plan_or_404(plan_id: int) -> SupervisionPlan:
    plan = db.session.get(SupervisionPlan, plan_id)
    if plan is None or not can_see_plan(current_user, plan):
        abort(404)
    return plan


def _round_or_404(round_id: int) -> Round:
    rnd = db.session.get(Round, round_id)
    if rnd is None or not can_see_plan(current_user, rnd.plan):
        abort(404)
    return rnd


def _managed_round(round_id: int) -> Round:
    rnd = _round_or_404(round_id)
    if not can_manage_plan(current_user, rnd.plan):
        abort(403)
    return rnd


def _today() -> date:
    """Today in the installation's time zone (Europe/Copenhagen), as the scheduler sees it."""
    return local_today(current_app)


def _suggestions(plan: SupervisionPlan, before: date) -> services.ThemeSuggestions:
    """Theme suggestions; ranked also by the weakest estimates once closed rounds have them."""
    estimates = reviews.theme_weakness(db.session, plan.id, before=before)
    return services.suggest_rotating_themes(db.session, plan, before, estimates or None)


def _draw_url(draw_id: int | None) -> str | None:
    if draw_id is None:
        return None
    try:
        return url_for("sampling.detail", draw_id=draw_id)
    except BuildError:
        return None


@bp.route("/")
@requires("rounds.view")
def calendar() -> str:
    return render_template(
        "rounds/calendar.html",
        plans=services.calendar(db.session, current_user, _today()),
        statuses=STATUSES,
    )


@bp.route("/planer")
@requires("plans.view")
def plans() -> str:
    plan_list = services.list_plans(db.session, current_user)
    return render_template(
        "rounds/plans.html",
        plans=plan_list,
        manageable={p.id for p in plan_list if can_manage_plan(current_user, p)},
    )


@bp.route("/planer/ny", methods=["GET", "POST"], defaults={"plan_id": None})
@bp.route("/planer/<int:plan_id>", methods=["GET", "POST"])
@requires("plans.edit")
def plan_edit(plan_id: int | None) -> str | Response:
    plan = _plan_or_404(plan_id) if plan_id else None
    if plan is not None and not can_manage_plan(current_user, plan):
        abort(403)
    themes = catalogue.list_themes(db.session)
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
        data = services.PlanInput(
            name=form.name.data or "",
            unit_id=int(form.unit_id.data) if form.unit_id.data else None,
            cadence=form.cadence.data or "quarterly",
            per_caseworker=form.per_caseworker.data or 0,
            new_caseworker=form.new_caseworker.data or 0,
            new_months=form.new_months.data or 0,
            lam=float(form.lam.data or 0),
            by_scheme=form.by_scheme.data,
            exclude_recent_rounds=form.exclude_recent_rounds.data or 0,
            schemes=list(form.schemes.data or []),
            core_theme_ids=core_ids,
            rotating_theme_ids=rotating_ids,
            rotation_mode=form.rotation_mode.data or "sequence",
            rotating_per_round=form.rotating_per_round.data or 0,
            review_weeks=form.review_weeks.data or 0,
            snapshot_max_age_days=form.snapshot_max_age_days.data or 0,
            starts_on=form.starts_on.data,
            active=form.active.data,
        )
        try:
            services.save_plan(db.session, current_user, plan, data, _today())
        except services.RoundError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Planen er gemt."), "success")
            return redirect(url_for("rounds.plans"))
    return render_template("rounds/plan_edit.html", form=form, plan=plan, themes=themes)


@bp.route("/planer/<int:plan_id>/ny-runde", methods=["GET", "POST"])
@requires("rounds.manage")
def new_round(plan_id: int) -> str | Response:
    plan = _plan_or_404(plan_id)
    if not can_manage_plan(current_user, plan):
        abort(403)
    today = _today()
    periods = services.creatable_periods(db.session, plan, today)
    form = NewRoundForm()
    form.period.choices = choices((p.label, p.label) for p in periods)
    form.rotating.choices = choices((str(t.id), t.name) for t in plan.rotating_themes)
    if periods and not form.is_submitted():
        current = period_containing(plan.cadence, today).label
        labels = [p.label for p in periods]
        form.period.data = current if current in labels else labels[0]
    suggestion_day = periods[0].start if periods else today
    if form.validate_on_submit():
        label = (form.period.data or "").strip()
        period = period_by_label(plan.cadence, label)
        ids = [int(x) for x in form.rotating.data or []]
        if period is None:
            flash(_("«%(label)s» er ikke en periode for denne plan.", label=label), "danger")
        else:
            try:
                rnd = services.create_round_by_hand(
                    db.session, current_user, plan, period, ids if ids else None, today
                )
                db.session.commit()
            except services.RoundError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            except IntegrityError:
                # Another process (typically the scheduler) created the same round between our
                # check and our insert; the database's unique constraint refused the second.
                db.session.rollback()
                flash(
                    _(
                        "Runden for %(period)s blev oprettet samtidig af en anden (fx "
                        "planlæggeren). Der er kun én runde pr. periode; se den under "
                        "Tilsynsrunder.",
                        period=period.label,
                    ),
                    "warning",
                )
                existing = services.round_for(db.session, plan, period.label)
                if existing is not None:
                    return redirect(url_for("rounds.round", round_id=existing.id))
            else:
                flash(_("Runden er oprettet."), "success")
                return redirect(url_for("rounds.round", round_id=rnd.id))
    return render_template(
        "rounds/new_round.html",
        form=form,
        plan=plan,
        periods=periods,
        suggestions=_suggestions(plan, suggestion_day),
    )


@bp.route("/runder/<int:round_id>")
@requires("rounds.view")
def round(round_id: int) -> str:
    rnd = _round_or_404(round_id)
    manage = can_manage_plan(current_user, rnd.plan)
    themes_form = ThemesForm()
    themes_form.rotating.choices = choices((str(t.id), t.name) for t in rnd.plan.rotating_themes)
    themes_form.rotating.data = [str(rt.theme_id) for rt in rnd.themes if not rt.is_core]
    if rnd.themes_provisional:
        themes_form.submit.label.text = _("Bekræft temaer")
    progress = reviews.round_progress(db.session, rnd, current_user)
    return render_template(
        "rounds/round.html",
        rnd=rnd,
        manage=manage,
        progress=progress,
        progress_totals=reviews.totals(progress),
        draw_url=_draw_url(rnd.draw_id),
        history=[(h, _draw_url(h.draw_id)) for h in rnd.draw_history],
        draw_form=DrawForm(),
        themes_form=themes_form,
        transitions=[(t, STATUSES[t]) for t in TRANSITIONS.get(rnd.status, ())],
        suggestions=_suggestions(rnd.plan, rnd.period_start),
    )


@bp.route("/runder/<int:round_id>/traek", methods=["POST"])
@requires("rounds.manage")
def draw(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = DrawForm()
    if not form.validate_on_submit():
        flash(_("Begrundelsen er for lang."), "danger")
        return redirect(url_for("rounds.round", round_id=rnd.id))
    try:
        result = services.draw_round(db.session, current_user, rnd, reason=form.reason.data or "")
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(
            _("Stikprøven er trukket: %(n)d sager.", n=result.sample_size),
            "success",
        )
    return redirect(url_for("rounds.round", round_id=rnd.id))


@bp.route("/runder/<int:round_id>/temaer", methods=["POST"])
@requires("rounds.manage")
def themes(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = ThemesForm()
    form.rotating.choices = choices((str(t.id), t.name) for t in rnd.plan.rotating_themes)
    if not form.validate_on_submit():
        flash(_("Vælg blandt planens roterende temaer."), "danger")
        return redirect(url_for("rounds.round", round_id=rnd.id))
    try:
        services.set_round_themes(
            db.session, current_user, rnd, [int(x) for x in form.rotating.data or []]
        )
    except services.RoundError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Rundens temaer er gemt."), "success")
    return redirect(url_for("rounds.round", round_id=rnd.id))


@bp.route("/runder/<int:round_id>/status", methods=["POST"])
@requires("rounds.manage")
def status(round_id: int) -> Response:
    rnd = _managed_round(round_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.transition(db.session, current_user, rnd, form.target.data or "")
    except services.RoundError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Status er ændret til «%(s)s».", s=rnd.status_label), "success")
    return redirect(url_for("rounds.round", round_id=rnd.id))
