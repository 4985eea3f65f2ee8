"""Gennemgang: the sampled cases of a round, the review form and the read-only review.

Case-level pages for team leaders (their own units) and administrators. Caseworkers, directors
and auditors are refused (their own views of findings come with the feedback feature).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.extensions import db
from tilsyn.permissions import can_open_round_reviews, can_record_reviews, requires
from tilsyn.reviews.errors import ReviewError
from tilsyn.reviews.forms import (
    ReopenForm,
    ReviewForm,
    answer_field,
    note_field,
    parse_answers,
    parse_reasons,
    reason_field,
)
from tilsyn.reviews.hooks import review_hints_at
from tilsyn.reviews.models import OUTCOMES
from tilsyn.reviews.progress import next_unreviewed_item, review_rounds, totals
from tilsyn.reviews.progress import round_cases as round_cases_
from tilsyn.reviews.recording import (
    EDITABLE_ROUND_STATUSES,
    NOTE_MAX,
    AnswerValue,
    ReviewPage,
    applicable_points,
    item_in_round,
    open_review,
    reopen_review,
    review_form_items,
    review_is_editable,
    save_review,
)
from tilsyn.rounds.models import Round, RoundStatus
from tilsyn.sampling.models import DrawItem
from tilsyn.schemes import SCHEMES
from tilsyn.web import FORM_EXPIRED, attempt, page_or_404, submit

bp = Blueprint("reviews", __name__, url_prefix="/gennemgang")


def _visible_round(round_id: int) -> Round:
    rnd = db.get_or_404(Round, round_id)
    if not can_open_round_reviews(current_user, rnd):
        abort(403)
    return rnd


def _item_or_404(rnd: Round, item_id: int) -> DrawItem:
    try:
        return item_in_round(db.session, rnd, item_id)
    except ReviewError:
        abort(404)


def _open(rnd: Round, item: DrawItem) -> ReviewPage:
    return page_or_404(lambda: open_review(db.session, current_user, rnd.id, item.id))


def _form_problems(form: ReviewForm) -> list[str]:
    problems = []
    for name, errors in form.errors.items():
        if name == "csrf_token":
            problems.append(
                _(
                    "Formularen er udløbet (sikkerhedsnøglen mangler eller er for gammel). "
                    "Prøv igen."
                )
            )
            continue
        label = form[name].label.text if name in form else name
        problems.extend(f"{label}: {error}" for error in errors)
    return problems


def _point_errors(
    problems: list[str],
    page: ReviewPage,
    posted: dict[int, tuple[int | None, str]] | None,
    completing: bool,
) -> dict[int, list[str]]:
    """The problems that concern each control point, shown next to its answer: those naming
    its code, and a missing answer when completing was refused."""
    out: dict[int, list[str]] = {}
    if not problems:
        return out
    for group in page.groups:
        for form_item in group.items:
            cp = form_item.control_point
            prefix = f"{cp.code}: "
            errors = [p.removeprefix(prefix) for p in problems if p.startswith(prefix)]
            if completing and posted is not None and posted.get(cp.id, (None, ""))[0] is None:
                errors.append(_("Vælg et svar; det kræves for at afslutte gennemgangen."))
            if errors:
                out[cp.id] = errors
    return out


def _refused(exc: Exception, problems: list[str], stale: list[int | None]) -> None:
    """Collect a refused save's problems (and, for a stale form, the stored version)."""
    problems.extend(getattr(exc, "problems", [str(exc)]))
    stale.append(getattr(exc, "version", None))


@bp.route("/")
@requires("reviews.view")
def index() -> str:
    return render_template("reviews/index.html", rounds=review_rounds(db.session, current_user))


@bp.route("/runder/<int:round_id>")
@requires("reviews.view")
def round_cases(round_id: int) -> str:
    rnd = _visible_round(round_id)
    groups = round_cases_(db.session, current_user, rnd)
    return render_template(
        "reviews/round.html",
        rnd=rnd,
        groups=groups,
        totals=totals(g.progress for g in groups),
        editable=rnd.status in EDITABLE_ROUND_STATUSES,
        schemes=SCHEMES,
    )


@bp.route("/runder/<int:round_id>/sager/<int:item_id>", methods=["GET", "POST"])
@requires("reviews.record")
def edit(round_id: int, item_id: int) -> str | Response:
    rnd = _visible_round(round_id)
    item = _item_or_404(rnd, item_id)
    if not can_record_reviews(current_user, item.caseworker):
        abort(403)
    form = ReviewForm()
    problems: list[str] = []
    stale: list[int | None] = []
    posted: dict[int, tuple[int | None, str]] | None = None
    reasons: dict[int, str] = {}
    if request.method == "POST":
        points = applicable_points(review_form_items(db.session, rnd, item))
        posted, problems = parse_answers(request.form, points)
        reasons = parse_reasons(request.form, points)
        if not form.validate_on_submit():
            problems = _form_problems(form) + problems
        if not problems:
            complete = bool(form.complete.data)
            version = form.version.data or ""
            if attempt(
                lambda: save_review(
                    db.session,
                    current_user,
                    rnd.id,
                    item.id,
                    posted or {},
                    form.overall_note.data or "",
                    complete,
                    reasons,
                    expected_version=int(version) if version.isdigit() else None,
                ),
                on_error=lambda exc: _refused(exc, problems, stale),
                conflict=_(
                    "Gennemgangen blev gemt af en anden samtidig. Indlæs siden igen og prøv igen."
                ),
            ):
                if complete:
                    flash(
                        _("Gennemgangen af sag %(ref)s er afsluttet.", ref=item.case_ref), "success"
                    )
                    following = next_unreviewed_item(db.session, current_user, rnd, item)
                    if following is not None and form.next_case.data:
                        return redirect(
                            url_for("reviews.edit", round_id=rnd.id, item_id=following.id)
                        )
                    return redirect(url_for("reviews.round_cases", round_id=rnd.id))
                flash(_("Kladden er gemt."), "success")
                return redirect(url_for("reviews.edit", round_id=rnd.id, item_id=item.id))
    if not review_is_editable(db.session, current_user, rnd, item):
        # The read-only page shows it (and records its own view).
        for problem in problems:
            flash(problem, "danger")
        if not problems:
            flash(_("Gennemgangen kan ikke ændres; den vises her."), "info")
        return redirect(url_for("reviews.view", round_id=rnd.id, item_id=item.id))
    page = _open(rnd, item)
    if posted is None or any(v is not None for v in stale):
        # Opened now, or refused as stale (the user has seen what changed): the form carries
        # the stored version, so the next save is checked against it.
        form.version.data = str(page.review.version if page.review is not None else 0)
    if posted is not None:
        values = {
            cp_id: AnswerValue(option_id, note) for cp_id, (option_id, note) in posted.items()
        }
    else:
        values = page.values
        reasons = {cp_id: a.override_reason for cp_id, a in page.answers.items()}
        if page.review is not None:
            form.overall_note.data = page.review.overall_note
    return render_template(
        "reviews/edit.html",
        next_item=next_unreviewed_item(db.session, current_user, rnd, item),
        page=page,
        form=form,
        values=values,
        problems=problems,
        point_errors=_point_errors(problems, page, posted, bool(form.complete.data)),
        answer_field=answer_field,
        note_field=note_field,
        reason_field=reason_field,
        reasons=reasons,
        note_max=NOTE_MAX,
        schemes=SCHEMES,
        hints=review_hints_at(db.session, rnd.id, item.caseworker_id),
    )


@bp.route("/runder/<int:round_id>/sager/<int:item_id>/vis")
@requires("reviews.view")
def view(round_id: int, item_id: int) -> str:
    rnd = _visible_round(round_id)
    item = _item_or_404(rnd, item_id)
    page = _open(rnd, item)
    can_reopen = (
        page.review is not None
        and page.review.is_completed
        and rnd.status != RoundStatus.CLOSED
        and can_record_reviews(current_user, item.caseworker)
    )
    can_edit = page.editable
    return render_template(
        "reviews/view.html",
        page=page,
        can_reopen=can_reopen,
        can_edit=can_edit,
        reopen_form=ReopenForm(),
        outcomes=OUTCOMES,
        schemes=SCHEMES,
    )


@bp.route("/runder/<int:round_id>/sager/<int:item_id>/genaabn", methods=["POST"])
@requires("reviews.record")
def reopen(round_id: int, item_id: int) -> Response:
    rnd = _visible_round(round_id)
    item = _item_or_404(rnd, item_id)
    reopened = submit(
        ReopenForm(),
        lambda: reopen_review(db.session, current_user, rnd.id, item.id),
        invalid=FORM_EXPIRED,
        success=_("Gennemgangen er genåbnet og kan rettes."),
    )
    # Reopened: straight to the review form; else back to the read-only review.
    target = "reviews.edit" if reopened else "reviews.view"
    return redirect(url_for(target, round_id=rnd.id, item_id=item.id))
