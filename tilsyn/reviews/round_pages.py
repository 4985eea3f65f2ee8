"""The round page and the page for a new round: rounds composed with review progress and the
estimates behind the theme suggestions (hence here, above rounds and reviews' own services).

URLs stay under ``/tilsyn`` beside the other round pages (:mod:`tilsyn.rounds.views`).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import can, can_manage_plan, has_permission, requires
from tilsyn.reviews.estimates import theme_weakness
from tilsyn.reviews.hooks import round_feedback_at
from tilsyn.reviews.progress import round_progress, totals
from tilsyn.rounds.forms import DrawForm, NewRoundForm, ThemesForm
from tilsyn.rounds.models import STATUSES, TRANSITIONS, SupervisionPlan
from tilsyn.rounds.periods import period_by_label, period_containing
from tilsyn.rounds.rounds import creatable_periods, create_round_by_hand, round_for
from tilsyn.rounds.themes import ThemeSuggestions, suggest_rotating_themes
from tilsyn.rounds.views import plan_or_404, round_or_404, today
from tilsyn.web import attempt

bp = Blueprint("round_pages", __name__, url_prefix="/tilsyn")


def _suggestions(plan: SupervisionPlan, before: date) -> ThemeSuggestions:
    """Theme suggestions; ranked also by the weakest estimates once closed rounds have them."""
    estimates = theme_weakness(db.session, plan.id, before=before)
    return suggest_rotating_themes(db.session, plan, before, estimates or None)


def _draw_url(draw_id: int | None) -> str | None:
    """The draw record's page, only for a role that may open it (directors may not)."""
    if draw_id is None or not can("sampling.view"):
        return None
    try:
        return url_for("sampling.detail", draw_id=draw_id)
    except BuildError:
        return None


@bp.route("/planer/<int:plan_id>/ny-runde", methods=["GET", "POST"])
@requires("rounds.manage")
def new_round(plan_id: int) -> str | Response:
    plan = plan_or_404(plan_id)
    if not can_manage_plan(current_user, plan):
        abort(403)
    day = today()
    periods = creatable_periods(db.session, plan, day)
    form = NewRoundForm()
    form.period.choices = choices((p.label, p.label) for p in periods)
    form.rotating.choices = choices((str(t.id), t.name) for t in plan.rotating_themes)
    if periods and not form.is_submitted():
        current = period_containing(plan.cadence, day).label
        labels = [p.label for p in periods]
        form.period.data = current if current in labels else labels[0]
    suggestion_day = periods[0].start if periods else day
    if form.validate_on_submit():
        label = (form.period.data or "").strip()
        period = period_by_label(plan.cadence, label)
        ids = [int(x) for x in form.rotating.data or []]
        if period is None:
            flash(_("«%(label)s» er ikke en periode for denne plan.", label=label), "danger")
        else:
            existed = round_for(db.session, plan, period.label) is not None
            created = attempt(
                lambda: create_round_by_hand(
                    db.session, current_user, plan, period, ids if ids else None, day
                ),
                success=_("Runden er oprettet."),
                # Another process (typically the scheduler) created the same round between our
                # check and our insert; the database's unique constraint refused the second.
                conflict=_(
                    "Runden for %(period)s blev oprettet samtidig af en anden (fx "
                    "planlæggeren). Der er kun én runde pr. periode; se den under "
                    "Tilsynsrunder.",
                    period=period.label,
                ),
                conflict_category="warning",
            )
            if created:
                return redirect(url_for("round_pages.round_page", round_id=created.value.id))
            existing = None if existed else round_for(db.session, plan, period.label)
            if existing is not None:
                return redirect(url_for("round_pages.round_page", round_id=existing.id))
    return render_template(
        "rounds/new_round.html",
        form=form,
        plan=plan,
        periods=periods,
        suggestions=_suggestions(plan, suggestion_day),
    )


@bp.route("/runder/<int:round_id>")
@requires("rounds.view")
def round_page(round_id: int) -> str:
    rnd = round_or_404(round_id)
    manage = can_manage_plan(current_user, rnd.plan)
    themes_form = ThemesForm()
    themes_form.rotating.choices = choices((str(t.id), t.name) for t in rnd.plan.rotating_themes)
    themes_form.rotating.data = [str(rt.theme_id) for rt in rnd.themes if not rt.is_core]
    if rnd.themes_provisional:
        themes_form.submit.label.text = _("Bekræft temaer")
    progress = round_progress(db.session, rnd, current_user)
    feedback = (
        round_feedback_at(db.session, current_user, rnd.id)
        if has_permission(current_user, "feedback.manage")
        else []
    )
    return render_template(
        "rounds/round.html",
        rnd=rnd,
        manage=manage,
        progress=progress,
        progress_totals=totals(progress),
        draw_url=_draw_url(rnd.draw_id),
        history=[(h, _draw_url(h.draw_id)) for h in rnd.draw_history],
        draw_form=DrawForm(replaces=str(rnd.draw_id or "")),
        themes_form=themes_form,
        transitions=[(t, STATUSES[t]) for t in TRANSITIONS.get(rnd.status, ())],
        suggestions=_suggestions(rnd.plan, rnd.period_start),
        feedback=feedback,
    )
