"""Snapshots: list, detail (aggregates only), and the upload -> preview -> confirm import.

Views never commit: ``tilsyn.web.commit_request`` commits once after a successful response. A
refused import is rolled back and its refusal recorded in the same request (the audit event is
what the request commits).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn import tabular
from tilsyn.audit import services as audit
from tilsyn.cases import queries, uploads
from tilsyn.cases.forms import UploadForm, confirm_form, parse_unit_option
from tilsyn.cases.importing import pipeline, setup
from tilsyn.cases.importing.result import ImportResult, UnitChoice, UnknownCaseworker
from tilsyn.cases.mapping import DEFAULT_MAPPING, ColumnMapping
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.permissions import requires
from tilsyn.schemes import SCHEMES
from tilsyn.web import attempt

bp = Blueprint("cases", __name__, url_prefix="/sagsudtraek")


def _upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _mappings_dir() -> str:
    return str(current_app.config["MAPPINGS_DIR"])


def _options() -> dict[str, Any]:
    return setup.read_options(current_app.config)


def _render_preview(
    pending: uploads.PendingUpload,
    mapping: ColumnMapping,
    result: ImportResult,
    form: object,
    unknown: list[UnknownCaseworker],
) -> str:
    return render_template(
        "cases/preview.html",
        pending=pending,
        mapping=mapping,
        result=result,
        errors_shown=[e.shown() for e in result.errors[: uploads.DISPLAY_ERRORS]],
        form=form,
        unknown=unknown,
        schemes=SCHEMES,
    )


def _record_preview(result: ImportResult) -> None:
    """Audit a view of an upload's preview (it shows case rows), each time it is shown."""
    audit.record(
        db.session,
        current_user,
        "import_preview",
        "snapshot",
        None,
        f"Forhåndsvisning af {result.filename}: {result.rows} sager",
        {"filename": result.filename, "sha256": result.sha256, "rows": result.rows},
    )


@bp.route("/")
@requires("snapshots.view")
def snapshots() -> str:
    return render_template("cases/snapshots.html", rows=queries.list_snapshots(db.session))


@bp.route("/<int:snapshot_id>")
@requires("snapshots.view")
def snapshot(snapshot_id: int) -> str:
    detail = queries.snapshot_detail(db.session, snapshot_id)
    if detail is None:
        abort(404)
    return render_template("cases/snapshot.html", detail=detail)


@bp.route("/import", methods=["GET", "POST"])
@requires("cases.import")
def upload() -> str | Response:
    form = UploadForm()
    form.mapping.choices = choices(setup.mapping_choices(_mappings_dir()))
    if not form.is_submitted():
        form.mapping.data = DEFAULT_MAPPING
    if not form.validate_on_submit():
        return render_template("cases/upload.html", form=form)
    loaded = attempt(lambda: setup.import_mapping(form.mapping.data, _mappings_dir()))
    if not loaded:
        return render_template("cases/upload.html", form=form)
    mapping = loaded.value
    saved = attempt(
        lambda: uploads.store_upload(
            _upload_root(),
            form.file.data.stream,
            filename=form.file.data.filename,
            mapping_name=mapping.name,
            as_of=form.as_of.data or date.today(),
            user_id=current_user.id,
        )
    )
    if not saved:
        return render_template("cases/upload.html", form=form)
    stored = saved.value
    result = uploads.analyse_upload(db.session, _upload_root(), stored, mapping, **_options())
    if not result.ok:
        pipeline.record_refused_import(db.session, current_user, result)
    return redirect(url_for("cases.preview", token=stored.token))


def _pending(token: str) -> uploads.PendingUpload:
    pending = uploads.load_upload(_upload_root(), token, current_user.id)
    if pending is None:
        abort(404)
    return pending


def _confirm(
    pending: uploads.PendingUpload,
    mapping: ColumnMapping,
    unknown: list[UnknownCaseworker],
    form: Any,
) -> str | Response:
    unit_choices: dict[str, UnitChoice] = {}
    for index, caseworker in enumerate(unknown):
        value = parse_unit_option(str(form[f"unit_{index}"].data or ""))
        if value is not None:
            unit_choices[caseworker.initials] = value
    result = pipeline.import_file(
        db.session,
        current_user,
        pending.path,
        mapping,
        as_of=pending.as_of,
        filename=pending.filename,
        unit_choices=unit_choices,
        **_options(),
    )
    if result.ok and result.snapshot is not None:
        uploads.discard_upload(_upload_root(), pending.token)
        flash(
            _(
                "Sagsudtrækket er indlæst: %(rows)s sager, %(cw)s sagsbehandlere, %(teams)s teams.",
                rows=result.rows,
                cw=result.caseworkers,
                teams=result.teams,
            ),
            "success",
        )
        return redirect(url_for("cases.snapshot", snapshot_id=result.snapshot.id))
    db.session.rollback()  # nothing of the refused import stays; its refusal is recorded
    pipeline.record_refused_import(db.session, current_user, result)
    pending = uploads.keep_report_only(pending, result)
    flash(
        _("Sagsudtrækket blev ikke indlæst: %(n)s fejl. Intet er gemt.", n=result.error_count),
        "danger",
    )
    return _render_preview(pending, mapping, result, None, unknown)


@bp.route("/import/<token>", methods=["GET", "POST"])
@requires("cases.import")
def preview(token: str) -> str | Response:
    pending = _pending(token)
    loaded = attempt(lambda: setup.import_mapping(pending.mapping_name, _mappings_dir()))
    if not loaded:
        uploads.discard_upload(_upload_root(), token)
        return redirect(url_for("cases.upload"))
    mapping = loaded.value
    unknown, file_teams = uploads.remembered_unknown(pending)
    if pending.refused:
        # The file is gone; only its report is left (a forged confirmation changes nothing).
        return _render_preview(pending, mapping, uploads.stored_report(pending), None, unknown)
    options = queries.unit_options(db.session, file_teams)
    defaults = [queries.default_unit_option(db.session, u.team) for u in unknown]
    form = confirm_form(unknown, options, defaults)
    if form.validate_on_submit():
        return _confirm(pending, mapping, unknown, form)
    analysis = uploads.analyse_upload(db.session, _upload_root(), pending, mapping, **_options())
    if analysis.ok:
        _record_preview(analysis)  # the page shows case rows: a view of case-level data
    else:
        # Refused on a later look (e.g. the organisation changed): the file is deleted now.
        pipeline.record_refused_import(db.session, current_user, analysis)
    return _render_preview(pending, mapping, analysis, form if analysis.ok else None, unknown)


@bp.route("/import/<token>/fejlrapport.csv")
@requires("cases.import")
def error_report(token: str) -> ResponseReturnValue:
    """The whole error report of a refused upload as CSV (never a CPR value)."""
    pending = _pending(token)
    if not pending.refused:
        abort(404)
    header, rows = uploads.error_report(pending)
    audit.record(
        db.session,
        current_user,
        "import_error_report",
        "snapshot",
        None,
        f"Fejlrapport for {pending.filename} hentet",
        {"filename": pending.filename},
    )
    return Response(
        tabular.csv_bytes(header, rows),
        mimetype=tabular.CSV_MIMETYPE,
        headers={"Content-Disposition": 'attachment; filename="fejlrapport.csv"'},
    )


@bp.route("/import/<token>/afbryd", methods=["POST"])
@requires("cases.import")
def abort_import(token: str) -> Response:
    pending = uploads.load_upload(_upload_root(), token, current_user.id)
    if pending is not None:
        uploads.discard_upload(_upload_root(), token)
        audit.record(
            db.session,
            current_user,
            "import_aborted",
            "snapshot",
            None,
            f"Import af {pending.filename} afbrudt",
            {"filename": pending.filename},
        )
        flash(_("Importen er afbrudt. Den uploadede fil er slettet."), "info")
    return redirect(url_for("cases.snapshots"))
