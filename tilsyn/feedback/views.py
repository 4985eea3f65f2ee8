"""Feedback pages: *Min feedback* and *Mine opfølgningspunkter* for caseworkers; release,
thread and actions for leaders; counts for directors; the register for auditors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.extensions import db
from tilsyn.feedback import actions, figures, notices, pages, plans, release
from tilsyn.feedback.common import plan_setting
from tilsyn.feedback.forms import (
    AcknowledgeForm,
    ActionForm,
    CommentForm,
    DoneForm,
    PlainForm,
    PlanSettingsForm,
    PreferenceForm,
    ReasonForm,
    ReleaseForm,
    parse_date,
)
from tilsyn.feedback.models import ACTION_STATUS_LABELS, ActionStatus, Involvement
from tilsyn.formutil import FlaskForm, choices
from tilsyn.permissions import can_manage_plan, can_see_plan, requires
from tilsyn.reviews.models import CaseReview
from tilsyn.rounds.models import Round, SupervisionPlan
from tilsyn.web import FORM_EXPIRED, attempt, page_or_404, redirect_back, submit

bp = Blueprint("feedback", __name__)


def _post_back(
    form: FlaskForm, action: Callable[[], object], success: str, back: str, **values: Any
) -> Response:
    """Submit a button's form (an invalid one has expired), then go back to the page it was
    posted from (its ``next`` field), else to the endpoint ``back``."""
    submit(form, action, invalid=FORM_EXPIRED, success=success)
    return redirect_back(back, **values)


def _preference_form() -> PreferenceForm:
    form = PreferenceForm(formdata=None)
    form.weekly_digest.data = notices.prefers_digest(db.session, current_user)
    return form


# --------------------------------------------------------------------------------------------
# The caseworker
# --------------------------------------------------------------------------------------------


@bp.route("/min-feedback")
@requires("feedback.own")
def mine() -> str:
    groups = pages.my_feedback(db.session, current_user)
    return render_template("feedback/mine.html", groups=groups, preference_form=_preference_form())


@bp.route("/min-feedback/<int:release_id>")
@requires("feedback.own")
def mine_detail(release_id: int) -> str:
    detail = page_or_404(lambda: pages.feedback_detail(db.session, current_user, release_id))
    return render_template(
        "feedback/detail.html",
        d=detail,
        ack_form=AcknowledgeForm(),
        comment_form=CommentForm(),
        done_form=DoneForm(),
        today=date.today(),
    )


@bp.route("/min-feedback/<int:release_id>/kvitter", methods=["POST"])
@requires("feedback.own")
def acknowledge(release_id: int) -> Response:
    submit(
        AcknowledgeForm(),
        lambda: release.acknowledge(db.session, current_user, release_id),
        invalid=FORM_EXPIRED,
        success=_("Tak, du har kvitteret for feedbacken."),
    )
    return redirect(url_for("feedback.mine_detail", release_id=release_id))


@bp.route("/feedback/<int:release_id>/kommentar", methods=["POST"])
@requires("feedback.comment")
def comment(release_id: int) -> Response:
    form = CommentForm()
    return _post_back(
        form,
        lambda: release.add_comment(
            db.session, current_user, release_id, form.body.data or "", current_app.config
        ),
        _("Kommentaren er sendt."),
        "feedback.mine_detail",
        release_id=release_id,
    )


@bp.route("/opfoelgning/mine")
@requires("feedback.own")
def my_actions() -> str:
    lines = pages.my_actions(db.session, current_user, date.today())
    return render_template(
        "feedback/my_actions.html",
        lines=lines,
        done_form=DoneForm(),
        preference_form=_preference_form(),
    )


@bp.route("/opfoelgning/<int:action_id>/udfoert", methods=["POST"])
@requires("actions.done")
def action_done(action_id: int) -> Response:
    form = DoneForm()
    return _post_back(
        form,
        lambda: actions.mark_done(
            db.session, current_user, action_id, form.note.data or "", current_app.config
        ),
        _("Opfølgningspunktet er markeret som udført."),
        "feedback.my_actions",
    )


@bp.route("/min-konto/beskeder", methods=["POST"])
@requires("account.use")
def preference() -> Response:
    form = PreferenceForm()
    return _post_back(
        form,
        lambda: notices.set_preference(db.session, current_user, bool(form.weekly_digest.data)),
        _("Dit valg af beskeder er gemt."),
        "auth.account",
    )


# --------------------------------------------------------------------------------------------
# The leader
# --------------------------------------------------------------------------------------------


def _round(round_id: int) -> Round:
    rnd = db.get_or_404(Round, round_id)
    if not can_see_plan(current_user, rnd.plan):
        abort(403)
    return rnd


@bp.route("/feedback/runder/<int:round_id>")
@requires("feedback.manage")
def round_page(round_id: int) -> str:
    rnd = _round(round_id)
    groups = pages.round_feedback(db.session, current_user, rnd)
    return render_template(
        "feedback/round.html",
        rnd=rnd,
        groups=groups,
        release_form=ReleaseForm(),
        involvement=plan_setting(db.session, rnd.plan_id).involvement,
        Involvement=Involvement,
    )


@bp.route("/feedback/runder/<int:round_id>/frigiv", methods=["POST"])
@requires("feedback.manage")
def release_round(round_id: int) -> Response:
    rnd = _round(round_id)
    form = ReleaseForm()
    raw = (form.caseworker_id.data or "").strip()
    submit(
        form,
        lambda: release.release(
            db.session,
            current_user,
            rnd.id,
            caseworker_id=int(raw) if raw.isdigit() else None,
            config=current_app.config,
        ),
        invalid=FORM_EXPIRED,
        success=lambda result: result.message(),
    )
    return redirect(url_for("feedback.round_page", round_id=rnd.id))


@bp.route("/feedback/gennemgang/<int:review_id>")
@requires("feedback.manage")
def review_page(review_id: int) -> str:
    data = page_or_404(lambda: pages.review_feedback(db.session, current_user, review_id))
    action_form = ActionForm()
    action_form.control_point_id.choices = choices(
        [("", _("Gennemgangen som helhed"))]
        + [
            (str(a.control_point_id), f"{a.control_point.code}: {a.control_point.question}")
            for a in data.findings
        ]
    )
    return render_template(
        "feedback/review.html",
        data=data,
        release_form=ReleaseForm(),
        comment_form=CommentForm(),
        action_form=action_form,
        reason_form=ReasonForm(),
        plain_form=PlainForm(),
        today=date.today(),
    )


@bp.route("/feedback/gennemgang/<int:review_id>/frigiv", methods=["POST"])
@requires("feedback.manage")
def release_review(review_id: int) -> Response:
    review = db.get_or_404(CaseReview, review_id)
    internal = [int(v) for v in request.form.getlist("internal") if v.isdigit()]
    overall = [review.id] if request.form.get("overall_internal") else []
    submit(
        ReleaseForm(),
        lambda: release.release(
            db.session,
            current_user,
            review.round_id,
            review_ids=[review.id],
            internal_point_ids={review.id: internal},
            overall_internal=overall,
            config=current_app.config,
        ),
        invalid=FORM_EXPIRED,
        success=lambda result: result.message(),
    )
    return redirect(url_for("feedback.review_page", review_id=review_id))


@bp.route("/feedback/gennemgang/<int:review_id>/opfoelgning", methods=["POST"])
@requires("feedback.manage")
def create_action(review_id: int) -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        flash(str(FORM_EXPIRED), "danger")
        return redirect(url_for("feedback.review_page", review_id=review_id))
    raw_point = (form.control_point_id.data or "").strip()
    due = parse_date(form.due_date.data)
    if due is None:
        flash(_("Fristen skal være en dato (dd-mm-åååå)."), "danger")
        return redirect(url_for("feedback.review_page", review_id=review_id))
    attempt(
        lambda: actions.create_action(
            db.session,
            current_user,
            review_id,
            description=form.description.data or "",
            owner=form.owner.data or "",
            due_date=due,
            today=date.today(),
            control_point_id=int(raw_point) if raw_point.isdigit() else None,
            with_case=bool(form.with_case.data),
            config=current_app.config,
        ),
        success=_("Opfølgningspunktet er oprettet."),
    )
    return redirect(url_for("feedback.review_page", review_id=review_id))


@bp.route("/opfoelgning/")
@requires("feedback.manage")
def actions_list() -> str:
    status = request.args.get("status", "")
    if status not in {s.value for s in ActionStatus}:
        status = ""
    raw_cw = request.args.get("sagsbehandler", "")
    filters = pages.ActionFilter(
        status=status,
        overdue=request.args.get("overskredet") == "1",
        caseworker_id=int(raw_cw) if raw_cw.isdigit() else None,
        point_code=request.args.get("kontrolpunkt", "")[:60],
    )
    lines = pages.leader_actions(db.session, current_user, filters, date.today())
    caseworkers, codes = pages.filter_choices(db.session, current_user)
    return render_template(
        "feedback/actions.html",
        lines=lines,
        filters=filters,
        caseworkers=caseworkers,
        codes=codes,
        statuses=[(s.value, str(ACTION_STATUS_LABELS[s])) for s in ActionStatus],
        plain_form=PlainForm(),
        reason_form=ReasonForm(),
        done_form=DoneForm(),
        preference_form=_preference_form(),
    )


@bp.route("/opfoelgning/<int:action_id>/godkend", methods=["POST"])
@requires("feedback.manage")
def action_approve(action_id: int) -> Response:
    return _post_back(
        PlainForm(),
        lambda: actions.approve(db.session, current_user, action_id, date.today()),
        _("Opfølgningspunktet er godkendt."),
        "feedback.actions_list",
    )


def _with_reason(step: Callable[[str], object], success: str) -> Response:
    """A leader's step on an action that takes a reason (the :class:`ReasonForm`'s note)."""
    form = ReasonForm()
    return _post_back(form, lambda: step(form.note.data or ""), success, "feedback.actions_list")


@bp.route("/opfoelgning/<int:action_id>/genaabn", methods=["POST"])
@requires("feedback.manage")
def action_reopen(action_id: int) -> Response:
    return _with_reason(
        lambda note: actions.reopen(db.session, current_user, action_id, note),
        _("Opfølgningspunktet er sendt tilbage som åbent."),
    )


@bp.route("/opfoelgning/<int:action_id>/annuller", methods=["POST"])
@requires("feedback.manage")
def action_cancel(action_id: int) -> Response:
    return _with_reason(
        lambda note: actions.cancel(db.session, current_user, action_id, note, date.today()),
        _("Opfølgningspunktet er annulleret."),
    )


@bp.route("/feedback/planer/<int:plan_id>", methods=["GET", "POST"])
@requires("plans.edit")
def plan_settings(plan_id: int) -> str | Response:
    plan = db.get_or_404(SupervisionPlan, plan_id)
    if not can_manage_plan(current_user, plan):
        abort(403)
    form = PlanSettingsForm()
    if request.method == "POST":
        if submit(
            form,
            lambda: plans.save_settings(
                db.session,
                current_user,
                plan.id,
                form.involvement.data or "",
                form.followup_allowance.data,
            ),
            invalid=FORM_EXPIRED,
            success=_("Planens indstillinger for feedback er gemt."),
        ):
            return redirect(url_for("feedback.plan_settings", plan_id=plan.id))
    else:
        setting = plan_setting(db.session, plan)
        form.involvement.data = setting.involvement
        form.followup_allowance.data = setting.followup_allowance
    return render_template("feedback/plan_settings.html", plan=plan, form=form)


# --------------------------------------------------------------------------------------------
# Directors and auditors
# --------------------------------------------------------------------------------------------


@bp.route("/opfoelgning/overblik")
@requires("feedback.overview")
def overview() -> str:
    today = date.today()
    start = parse_date(request.args.get("fra")) or date(today.year, 1, 1)
    end = parse_date(request.args.get("til")) or today
    if end < start:
        start, end = end, start
    counts = figures.team_counts(db.session, current_user, start, end, today)
    return render_template("feedback/overview.html", counts=counts, start=start, end=end)


@bp.route("/opfoelgning/register")
@requires("feedback.register")
def register() -> str:
    releases, action_rows = figures.register(db.session, current_user, date.today())
    return render_template("feedback/register.html", releases=releases, actions=action_rows)
