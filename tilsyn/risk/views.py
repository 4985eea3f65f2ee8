"""Risikovurdering: the documented risk model, its versions, editor, approval and case view."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.cases.models import Case, Snapshot
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.extensions import db
from tilsyn.permissions import requires
from tilsyn.risk.case_risk import case_risk
from tilsyn.risk.effect import RiskEffect, effect_on_snapshot, factor_texts
from tilsyn.risk.forms import ApproveForm, VersionForm, factors_from_form, form_data
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.population import open_actions_at, prior_findings_at
from tilsyn.risk.rules import factor_from_dict
from tilsyn.risk.versions import approve as approve_version_
from tilsyn.risk.versions import (
    approved_version,
    ensure_default_model,
    list_versions,
    save_edit,
)
from tilsyn.web import attempt, submit

bp = Blueprint("risk", __name__, url_prefix="/risiko")


def _factor_rows(version: RiskModelVersion) -> list[dict[str, object]]:
    rows = []
    for d in version.factors:
        f = factor_from_dict(d)
        rule_text, schemes = factor_texts(f)
        rows.append({"factor": f, "rule_text": rule_text, "schemes": schemes})
    return rows


def _effect(version: RiskModelVersion | None) -> RiskEffect | None:
    snapshot = latest_snapshot(db.session)
    if version is None or snapshot is None:
        return None
    return effect_on_snapshot(
        db.session,
        snapshot,
        version,
        prior_findings=prior_findings_at(db.session, snapshot.as_of),
        open_actions=open_actions_at(db.session, snapshot.as_of),
    )


@bp.route("/")
@requires("risk.view")
def assessment() -> str:
    """The printable documented risk assessment: the approved version and its effect."""
    version = approved_version(db.session)
    return render_template(
        "risk/assessment.html",
        version=version,
        factors=_factor_rows(version) if version else [],
        effect=_effect(version),
        versions=list_versions(db.session),
    )


@bp.route("/standardmodel", methods=["POST"])
@requires("risk.approve")
def init_default() -> Response:
    made = attempt(
        lambda: ensure_default_model(db.session, current_user),
        success=lambda v: _("Standardmodellen er taget i brug som version %(n)s.", n=v.number),
    )
    return redirect(url_for("risk.assessment" if made else "risk.versions"))


@bp.route("/versioner")
@requires("risk.view")
def versions() -> str:
    return render_template("risk/versions.html", versions=list_versions(db.session))


@bp.route("/versioner/<int:version_id>")
@requires("risk.view")
def version(version_id: int) -> str:
    v = db.get_or_404(RiskModelVersion, version_id)
    return render_template(
        "risk/version.html", version=v, factors=_factor_rows(v), effect=_effect(v)
    )


@bp.route("/versioner/<int:version_id>/rediger", methods=["GET", "POST"])
@requires("risk.edit")
def edit(version_id: int) -> str | Response:
    """Edit a draft in place, or start a new draft from any other version."""
    base = db.get_or_404(RiskModelVersion, version_id)
    if request.method == "GET":
        form = VersionForm(data=form_data(base.name, base.description, base.factors))
    else:
        form = VersionForm()
    problems: list[str] = []
    if form.is_submitted() and form.add_factor.data:
        form.factors.append_entry({"when": [{}]})
    elif form.validate_on_submit():
        factors, problems = factors_from_form(form)
        saved = (
            attempt(
                lambda: save_edit(
                    db.session,
                    current_user,
                    base,
                    factors,
                    form.name.data or "",
                    form.description.data or "",
                ),
                success=lambda v: _("Kladden (version %(n)s) er gemt.", n=v.number),
                on_error=lambda exc: problems.extend(getattr(exc, "problems", None) or [str(exc)]),
            )
            if not problems
            else None
        )
        if saved:
            return redirect(url_for("risk.version", version_id=saved.value.id))
    return render_template("risk/edit.html", form=form, base=base, problems=problems)


@bp.route("/versioner/<int:version_id>/godkend", methods=["GET", "POST"])
@requires("risk.approve")
def approve(version_id: int) -> str | Response:
    v = db.get_or_404(RiskModelVersion, version_id)
    form = ApproveForm()
    if submit(
        form,
        lambda: approve_version_(
            db.session, current_user, v, form.on_date.data, form.note.data or ""
        ),
        success=_("Version %(n)s er godkendt og bruges nu til stikprøver.", n=v.number),
    ):
        return redirect(url_for("risk.assessment"))
    return render_template("risk/approve.html", form=form, version=v, factors=_factor_rows(v))


@bp.route("/sag/<int:case_id>", endpoint="case_risk")
@requires("cases.view")
def case_risk_page(case_id: int) -> str:
    """Which risk factors fire for one case (row-scoped, audited)."""
    case = db.get_or_404(Case, case_id)
    snapshot = db.session.get(Snapshot, case.snapshot_id)
    prior = prior_findings_at(db.session, snapshot.as_of) if snapshot is not None else {}
    open_actions = open_actions_at(db.session, snapshot.as_of) if snapshot is not None else None
    messages: list[str] = []
    found = attempt(
        lambda: case_risk(
            db.session, current_user, case, prior_findings=prior, open_actions=open_actions
        ),
        on_error=lambda exc: messages.append(str(exc)),
    )
    return render_template(
        "risk/case_risk.html",
        result=found.value if found else None,
        message=messages[0] if messages else None,
        case=case,
    )
