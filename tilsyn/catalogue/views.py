"""Catalogue browser (every role) and editor (admin, teamleder)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.catalogue.forms import ControlPointForm, ScaleForm, ThemeForm
from tilsyn.catalogue.models import OUTCOME_LABELS, ControlPoint, Scale, Theme
from tilsyn.catalogue.points import (
    comparable_lineage,
    list_scales,
    list_themes,
    load_starter_catalogue,
    save_control_point,
    save_theme,
    versions,
)
from tilsyn.catalogue.scales import OptionInput, save_scale, scale_usage, scale_usages
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import requires
from tilsyn.schemes import SCHEMES
from tilsyn.web import attempt, chosen_or_400, int_arg, new_or_edit, optional_or_404, submit

bp = Blueprint("catalogue", __name__, url_prefix="/kontrolpunkter")


@bp.route("/")
@requires("catalogue.view")
def index() -> str:
    return render_template(
        "catalogue/index.html",
        themes=list_themes(db.session),
        scales=list_scales(db.session),
        scale_usages=scale_usages(db.session),
        schemes=SCHEMES,
    )


@bp.route("/<int:point_id>")
@requires("catalogue.view")
def view(point_id: int) -> str:
    point = db.get_or_404(ControlPoint, point_id)
    history = versions(db.session, point.code)
    return render_template(
        "catalogue/view.html",
        point=point,
        history=history,
        lineage=comparable_lineage(point),
        is_latest=history[0] is point,
        schemes=SCHEMES,
    )


@new_or_edit(bp, "/ny", "/<int:point_id>/rediger")
@requires("catalogue.edit")
def edit(point_id: int | None) -> str | Response:
    point = optional_or_404(ControlPoint, point_id)
    form = ControlPointForm(obj=point)
    form.theme_id.choices = choices((t.id, t.name) for t in list_themes(db.session))
    form.scale_id.choices = choices((s.id, s.name) for s in list_scales(db.session))
    if point is not None and not form.is_submitted():
        form.schemes.data = list(point.schemes or [])
        # Comparability is a decision the editor makes for each change, never a default.
        form.comparable.data = False
        form.change_note.data = ""
    saved = submit(
        form,
        lambda: save_control_point(
            db.session,
            current_user,
            point=point,
            code=form.code.data or "",
            theme=chosen_or_400(Theme, form.theme_id.data),
            scale=chosen_or_400(Scale, form.scale_id.data),
            question=form.question.data or "",
            help_text=form.help_text.data or "",
            legal_reference=form.legal_reference.data,
            schemes=list(form.schemes.data or []),
            active=form.active.data,
            comparable=form.comparable.data,
            change_note=form.change_note.data or "",
        ),
        success=_("Kontrolpunktet er gemt."),
    )
    if saved:
        return redirect(url_for("catalogue.view", point_id=saved.value.id))
    return render_template("catalogue/edit.html", form=form, point=point)


@new_or_edit(bp, "/temaer/ny", "/temaer/<int:theme_id>")
@requires("catalogue.edit")
def theme_edit(theme_id: int | None) -> str | Response:
    theme = optional_or_404(Theme, theme_id)
    form = ThemeForm(obj=theme)
    if submit(
        form,
        lambda: save_theme(
            db.session,
            current_user,
            theme=theme,
            code=form.code.data or "",
            name=form.name.data or "",
            description=form.description.data or "",
            is_core=form.is_core.data,
        ),
        success=_("Temaet er gemt."),
    ):
        return redirect(url_for("catalogue.index"))
    return render_template("catalogue/theme_edit.html", form=form, theme=theme)


@bp.route("/indlaes-startkatalog", methods=["POST"])
@requires("catalogue.edit")
def load() -> Response:
    report = load_starter_catalogue(db.session, current_user)
    if report.nothing_new:
        flash(_("Startkataloget var allerede indlæst; intet nyt tilføjet."), "info")
    else:
        flash(
            _(
                "Startkataloget er indlæst: %(themes)d temaer og %(points)d kontrolpunkter.",
                themes=report.themes,
                points=report.control_points,
            ),
            "success",
        )
    return redirect(url_for("catalogue.index"))


#: Blank option rows offered below a scale's options in the editor.
BLANK_OPTION_ROWS = 2
MIN_OPTION_ROWS = 4


def _scale_form(scale: Scale | None, copy_of: Scale | None) -> ScaleForm:
    """The scale editor's form: the scale's (or the copied scale's) options plus blank rows."""
    source = scale or copy_of
    rows: list[dict[str, str]] = []
    data: dict[str, object] = {}
    if source is not None and request.method != "POST":
        rows = [
            {
                "code": o.code,
                "label": o.label,
                "outcome": o.outcome,
                "score": "" if o.score is None else f"{o.score:g}".replace(".", ","),
            }
            for o in source.options
        ]
        data = {
            "code": "" if copy_of is not None else source.code,
            "name": source.name if copy_of is None else _("Kopi af %(name)s", name=source.name),
            "options": rows,
        }
    form = ScaleForm(data=data)
    if request.method != "POST":
        while len(form.options) < max(MIN_OPTION_ROWS, len(rows) + BLANK_OPTION_ROWS):
            form.options.append_entry()
    outcome_choices = choices(OUTCOME_LABELS.items())
    for entry in form.options:
        entry.form.outcome.choices = outcome_choices
    return form


@new_or_edit(bp, "/skalaer/ny", "/skalaer/<int:scale_id>")
@requires("catalogue.edit")
def scale_edit(scale_id: int | None) -> str | Response:
    """Create or edit an answer scale; ``?kopi=<id>`` starts a new scale as a copy."""
    scale = optional_or_404(Scale, scale_id)
    copy_id = int_arg("kopi")
    copy_of = db.session.get(Scale, copy_id) if scale is None and copy_id else None
    form = _scale_form(scale, copy_of)
    if form.validate_on_submit():
        options = [
            OptionInput(
                code=entry.form.code.data or "",
                label=entry.form.label.data or "",
                outcome=entry.form.outcome.data or "",
                score=entry.form.score.data or "",
            )
            for entry in form.options
        ]
        if attempt(
            lambda: save_scale(
                db.session,
                current_user,
                scale=scale,
                code=form.code.data or "",
                name=form.name.data or "",
                options=options,
            ),
            success=lambda saved: _("Svarskalaen %(name)s er gemt.", name=saved.name),
        ):
            return redirect(url_for("catalogue.index", _anchor="h-scales"))
    return render_template(
        "catalogue/scale_edit.html",
        form=form,
        scale=scale,
        used=scale_usage(db.session, scale) if scale is not None else 0,
    )
