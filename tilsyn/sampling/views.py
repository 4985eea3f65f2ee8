"""Stikprøver: draw, list, inspect, verify and export recorded samples."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from tilsyn.cases.models import Snapshot
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import draw_unit_scope, requires
from tilsyn.risk.population import open_actions_at, prior_findings_at
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.forms import DrawForm
from tilsyn.sampling.models import Draw, DrawPurpose
from tilsyn.sampling.records import (
    CSV_MIMETYPE,
    draw_view,
    export_csv,
    list_draws,
    snapshot_options,
)
from tilsyn.sampling.verify import record_verification
from tilsyn.sampling.verify import verify as verify_draw
from tilsyn.web import attempt, chosen_or_400

bp = Blueprint("sampling", __name__, url_prefix="/stikproever")


@bp.route("/")
@requires("sampling.view")
def draws() -> str:
    return render_template("sampling/draws.html", draws=list_draws(db.session))


@bp.route("/ny", methods=["GET", "POST"])
@requires("sampling.draw")
def new() -> str | BaseResponse:
    """Draw an ad hoc sample. A teamleder draws among the caseworkers of their own units."""
    form = DrawForm()
    form.snapshot_id.choices = choices(snapshot_options(db.session))
    leader_units = draw_unit_scope(current_user)
    if form.validate_on_submit():
        snapshot = chosen_or_400(Snapshot, form.snapshot_id.data)
        prior = prior_findings_at(db.session, snapshot.as_of)
        open_actions = open_actions_at(db.session, snapshot.as_of)
        drawn = attempt(
            lambda: draw_sample(
                db.session,
                current_user,
                snapshot,
                form.params(),
                prior_findings=prior,
                open_actions=open_actions,
                seed=form.seed_value(),
                unit_ids=leader_units,
                purpose=DrawPurpose.AD_HOC,
                note=form.note.data or "",
            ),
            success=lambda draw: _("Stikprøven er trukket: %(n)s sager.", n=draw.sample_size),
        )
        if drawn:
            return redirect(url_for("sampling.detail", draw_id=drawn.value.id))
    return render_template("sampling/new.html", form=form, leader_units=leader_units)


@bp.route("/<int:draw_id>")
@requires("sampling.view")
def detail(draw_id: int) -> str:
    draw = db.get_or_404(Draw, draw_id)
    view = draw_view(db.session, current_user, draw)
    return render_template("sampling/detail.html", view=view, draw=draw)


@bp.route("/<int:draw_id>/kontroller", methods=["POST"])
@requires("sampling.view")
def verify(draw_id: int) -> BaseResponse:
    """Replay the draw from its record and report whether it is identical."""
    draw = db.get_or_404(Draw, draw_id)
    result = verify_draw(db.session, draw)
    record_verification(db.session, current_user, draw, result)
    if result.ok:
        flash(
            _(
                "Kontrollen er bestået: genberegningen ud fra registreringen giver de samme "
                "%(n)s sager og de samme inklusionssandsynligheder.",
                n=draw.sample_size,
            ),
            "success",
        )
    else:
        shown = result.differences[:10]
        more = len(result.differences) - len(shown)
        text = " ".join(shown) + (_(" (og %(n)s flere afvigelser)", n=more) if more else "")
        flash(_("Kontrollen fandt afvigelser: %(d)s", d=text), "danger")
    return redirect(url_for("sampling.detail", draw_id=draw.id))


@bp.route("/<int:draw_id>/csv")
@requires("sampling.view")
def export(draw_id: int) -> Response:
    draw = db.get_or_404(Draw, draw_id)
    body = export_csv(db.session, current_user, draw, for_people=True)
    return Response(
        body,
        content_type=CSV_MIMETYPE,
        headers={
            "Content-Disposition": f'attachment; filename="stikproeve-{draw.id}.csv"',
        },
    )
