"""Quality pages: *Metodekontrol* (census coverage), *Kalibrering* (agreement of leaders)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.extensions import db
from tilsyn.permissions import requires
from tilsyn.quality.calibration import (
    assign_round,
    resolve,
    save_second_review,
    save_setting,
    second_review_page,
    setting_of,
)
from tilsyn.quality.calibration_pages import (
    RoundPage,
    calibration_index,
    calibration_round,
    leader_choices,
)
from tilsyn.quality.forms import (
    AssignForm,
    ResolveForm,
    SecondReviewForm,
    SettingForm,
    leader_select,
)
from tilsyn.quality.method_page import method_page
from tilsyn.rounds.models import Round, SupervisionPlan
from tilsyn.web import FORM_EXPIRED, attempt, page_or_404, submit

bp = Blueprint("quality", __name__, url_prefix="/kvalitet")


@bp.route("/metodekontrol")
@requires("quality.view")
def method_check() -> str:
    return render_template("quality/method_check.html", page=method_page(db.session, current_user))


@bp.route("/kalibrering")
@requires("quality.calibration")
def calibration() -> str:
    plans = calibration_index(db.session, current_user)
    leaders = leader_choices(db.session)
    forms = {}
    for line in plans:
        if line.manageable:
            form = SettingForm(prefix=f"plan{line.plan.id}")
            form.leaders.choices = leader_select(leaders)
            if line.setting is not None and request.method == "GET":
                form.active.data = line.setting.active
                form.cases_per_team.data = line.setting.cases_per_team
                form.leaders.data = list(line.setting.leader_ids)
            forms[line.plan.id] = form
    return render_template("quality/calibration.html", plans=plans, forms=forms)


@bp.route("/kalibrering/planer/<int:plan_id>", methods=["POST"])
@requires("quality.calibrate")
def calibration_setting(plan_id: int) -> Response:
    plan = db.get_or_404(SupervisionPlan, plan_id)
    form = SettingForm(prefix=f"plan{plan.id}")
    form.leaders.choices = leader_select(leader_choices(db.session))
    if form.validate_on_submit():
        attempt(
            lambda: save_setting(
                db.session,
                current_user,
                plan,
                active=bool(form.active.data),
                cases_per_team=int(form.cases_per_team.data or 0),
                leader_ids=list(form.leaders.data or []),
            ),
            success=_("Kalibreringen er gemt."),
        )
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    return redirect(url_for("quality.calibration"))


def _round_page(round_id: int) -> RoundPage:
    return page_or_404(lambda: calibration_round(db.session, current_user, round_id))


@bp.route("/kalibrering/runder/<int:round_id>")
@requires("quality.calibration")
def calibration_round_page(round_id: int) -> str:
    page = _round_page(round_id)
    return render_template(
        "quality/calibration_round.html",
        page=page,
        assign_form=AssignForm(),
        resolve_form=ResolveForm(),
        setting=setting_of(db.session, page.round.plan_id),
    )


@bp.route("/kalibrering/runder/<int:round_id>/udvaelg", methods=["POST"])
@requires("quality.calibrate")
def calibration_assign(round_id: int) -> Response:
    page = _round_page(round_id)
    if not page.may_assign:
        flash(_("Runden har ingen kalibrering at udvælge sager til."), "danger")
    else:
        submit(
            AssignForm(),
            lambda: assign_round(db.session, current_user, db.session.get(Round, round_id)),
            success=_("Sagerne til anden gennemgang er udvalgt."),
        )
    return redirect(url_for("quality.calibration_round_page", round_id=round_id))


@bp.route("/kalibrering/sager/<int:calibration_id>/kontrolpunkter/<int:point_id>", methods=["POST"])
@requires("quality.calibrate")
def calibration_resolve(calibration_id: int, point_id: int) -> Response:
    form = ResolveForm()
    round_id = request.args.get("round_id", type=int)
    submit(
        form,
        lambda: resolve(
            db.session,
            current_user,
            calibration_id,
            point_id,
            str(form.standing.data),
            form.reason.data or "",
        ),
        invalid=_("Vælg, hvilket svar der står, og skriv hvorfor."),
        success=_("Uenigheden er afgjort."),
    )
    if round_id is None:
        return redirect(url_for("quality.calibration"))
    return redirect(url_for("quality.calibration_round_page", round_id=round_id))


@bp.route("/kalibrering/sager/<int:calibration_id>", methods=["GET", "POST"])
@requires("quality.calibrate")
def second_review(calibration_id: int) -> str | Response:
    form = SecondReviewForm()
    problems: list[str] = []
    page = page_or_404(lambda: second_review_page(db.session, current_user, calibration_id))
    values = dict(page.values)
    if request.method == "POST" and page.editable:
        answers: dict[int, int | None] = {}
        for cp in page.points:
            raw = (request.form.get(f"cp_{cp.id}") or "").strip()
            answers[cp.id] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else None
        values = {k: v for k, v in answers.items() if v is not None}
        if not form.validate_on_submit():
            problems.append(str(FORM_EXPIRED))
        else:
            complete = bool(form.complete.data)
            if attempt(
                lambda: save_second_review(
                    db.session, current_user, calibration_id, answers, complete
                ),
                on_error=lambda exc: problems.append(str(exc)),
                success=_("Den anden gennemgang er gemt."),
            ):
                return redirect(url_for("quality.second_review", calibration_id=calibration_id))
    return render_template(
        "quality/second_review.html", page=page, form=form, values=values, problems=problems
    )
