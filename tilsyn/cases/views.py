"""Snapshots: list, detail (aggregates only), and the upload -> preview -> confirm import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.audit import services as audit
from tilsyn.cases import messages, parsing, services
from tilsyn.cases.forms import UploadForm, confirm_form
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import requires
from tilsyn.schemes import SCHEMES

bp = Blueprint("cases", __name__, url_prefix="/sagsudtraek")


def _upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _mappings_dir() -> str:
    return str(current_app.config["MAPPINGS_DIR"])


def _max_field_chars() -> int:
    """One CSV field may be as long as an upload may be."""
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or parsing.MAX_FIELD_CHARS)


def _render_preview(
    pending: services.PendingUpload,
    mapping: services.mappings.ColumnMapping,
    result: services.ImportResult,
    form: object,
    unknown: list[services.UnknownCaseworker],
) -> str:
    return render_template(
        "cases/preview.html",
        pending=pending,
        mapping=mapping,
        result=result,
        errors_shown=[
            messages.translate_error(e) for e in result.errors[: services.DISPLAY_ERRORS]
        ],
        form=form,
        unknown=unknown,
        schemes=SCHEMES,
    )


@bp.route("/")
@requires("snapshots.view")
def snapshots() -> str:
    return render_template("cases/snapshots.html", rows=services.list_snapshots(db.session))


@bp.route("/<int:snapshot_id>")
@requires("snapshots.view")
def snapshot(snapshot_id: int) -> str:
    detail = services.snapshot_detail(db.session, snapshot_id)
    if detail is None:
        abort(404)
    return render_template("cases/snapshot.html", detail=detail)


@bp.route("/import", methods=["GET", "POST"])
@requires("cases.import")
def upload() -> str | Response:
    form = UploadForm()
    form.mapping.choices = choices(services.mapping_choices(_mappings_dir()))
    if not form.is_submitted():
        form.mapping.data = services.mappings.DEFAULT_MAPPING
    if form.validate_on_submit():
        try:
            mapping = services.load_mapping(form.mapping.data, _mappings_dir())
        except services.ImportSetupError as exc:
            flash(str(exc), "danger")
            return render_template("cases/upload.html", form=form)
        try:
            stored = services.store_upload(
                _upload_root(),
                form.file.data.stream,
                filename=form.file.data.filename,
                mapping_name=mapping.name,
                as_of=form.as_of.data or date.today(),
                user_id=current_user.id,
            )
        except services.ImportSetupError as exc:
            flash(str(exc), "danger")
            return render_template("cases/upload.html", form=form)
        result = services.analyse_upload(
            db.session, _upload_root(), stored, mapping, max_field_chars=_max_field_chars()
        )
        if result.ok:
            audit.record(
                db.session,
                current_user,
                "import_preview",
                "snapshot",
                None,
                f"Forhåndsvisning af {result.filename}: {result.rows} sager",
                {"filename": result.filename, "sha256": result.sha256, "rows": result.rows},
            )
        else:
            services.record_refused_import(db.session, current_user, result)
        db.session.commit()
        return redirect(url_for("cases.preview", token=stored.token))
    return render_template("cases/upload.html", form=form)


def _pending(token: str) -> services.PendingUpload:
    pending = services.load_upload(_upload_root(), token, current_user.id)
    if pending is None:
        abort(404)
    return pending


@bp.route("/import/<token>", methods=["GET", "POST"])
@requires("cases.import")
def preview(token: str) -> str | Response:
    pending = _pending(token)
    try:
        mapping = services.load_mapping(pending.mapping_name, _mappings_dir())
    except services.ImportSetupError as exc:
        services.discard_upload(_upload_root(), token)
        flash(str(exc), "danger")
        return redirect(url_for("cases.upload"))
    unknown, file_teams = services.remembered_unknown(pending)
    if pending.refused:
        # The file is gone; only its report is left (a forged confirmation changes nothing).
        return _render_preview(pending, mapping, services.stored_report(pending), None, unknown)
    options = services.unit_options(db.session, file_teams)
    defaults = [services.default_unit_option(db.session, u.team) for u in unknown]
    form = confirm_form(unknown, options, defaults)
    if form.validate_on_submit():
        unit_choices: dict[str, services.UnitChoice] = {}
        for index, caseworker in enumerate(unknown):
            value = services.parse_unit_option(str(form[f"unit_{index}"].data or ""))
            if value is not None:
                unit_choices[caseworker.initials] = value
        result = services.import_file(
            db.session,
            current_user,
            pending.path,
            mapping,
            as_of=pending.as_of,
            filename=pending.filename,
            unit_choices=unit_choices,
            max_field_chars=_max_field_chars(),
        )
        if result.ok and result.snapshot is not None:
            snapshot_id = result.snapshot.id
            db.session.commit()
            services.discard_upload(_upload_root(), token)
            flash(
                _(
                    "Sagsudtrækket er indlæst: %(rows)s sager, %(cw)s sagsbehandlere, "
                    "%(teams)s teams.",
                    rows=result.rows,
                    cw=result.caseworkers,
                    teams=result.teams,
                ),
                "success",
            )
            return redirect(url_for("cases.snapshot", snapshot_id=snapshot_id))
        db.session.rollback()
        services.record_refused_import(db.session, current_user, result)
        db.session.commit()
        pending = services.keep_report_only(pending, result)
        flash(
            _("Sagsudtrækket blev ikke indlæst: %(n)s fejl. Intet er gemt.", n=result.error_count),
            "danger",
        )
        return _render_preview(pending, mapping, result, None, unknown)
    analysis = services.analyse_upload(
        db.session, _upload_root(), pending, mapping, max_field_chars=_max_field_chars()
    )
    if not analysis.ok:
        # Refused on a later look (e.g. the organisation changed): the file is deleted now.
        services.record_refused_import(db.session, current_user, analysis)
        db.session.commit()
    return _render_preview(pending, mapping, analysis, form if analysis.ok else None, unknown)


@bp.route("/import/<token>/fejlrapport.csv")
@requires("cases.import")
def error_report(token: str) -> ResponseReturnValue:
    """The whole error report of a refused upload as CSV (never a CPR value)."""
    pending = _pending(token)
    if not pending.refused:
        abort(404)
    audit.record(
        db.session,
        current_user,
        "import_error_report",
        "snapshot",
        None,
        f"Fejlrapport for {pending.filename} hentet",
        {"filename": pending.filename},
    )
    db.session.commit()
    return Response(
        stream_with_context(services.error_report_csv(pending)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="fejlrapport.csv"'},
    )


@bp.route("/import/<token>/afbryd", methods=["POST"])
@requires("cases.import")
def abort_import(token: str) -> Response:
    pending = services.load_upload(_upload_root(), token, current_user.id)
    if pending is not None:
        services.discard_upload(_upload_root(), token)
        audit.record(
            db.session,
            current_user,
            "import_aborted",
            "snapshot",
            None,
            f"Import af {pending.filename} afbrudt",
            {"filename": pending.filename},
        )
        db.session.commit()
        flash(_("Importen er afbrudt. Den uploadede fil er slettet."), "info")
    return redirect(url_for("cases.snapshots"))
