"""Results pages: /resultater (series, units, table), /rapport/<period>, the Excel export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from tilsyn.extensions import db
from tilsyn.org.models import Unit
from tilsyn.permissions import (
    Role,
    can_see_plan,
    can_see_unit,
    has_permission,
    requires,
    role_of,
)
from tilsyn.results import excel, pages
from tilsyn.results.data import valid_period
from tilsyn.results.estimates import Options, ResultRow
from tilsyn.results.report import build_report
from tilsyn.results.services import (
    Filters,
    cached_html,
    data_version,
    options_from_config,
    round_results,
    unit_choices,
)
from tilsyn.schemes import SCHEMES

bp = Blueprint("results", __name__)


@dataclass
class RoundResults:
    rows: list[ResultRow]
    opts: Options


def _round_results(rnd: Any) -> RoundResults | None:
    """Figures of a round for its page (leader, director, auditor): None when the user may
    not see results or the round has no draw."""
    if rnd is None or getattr(rnd, "draw_id", None) is None:
        return None
    if not has_permission(current_user, "results.view") or not can_see_plan(current_user, rnd.plan):
        return None
    opts = options_from_config()
    return RoundResults(round_results(db.session, rnd.id, opts), opts)


@bp.app_context_processor
def _round_results_hook() -> dict[str, Any]:
    """``round_results(rnd)`` for the round page, which lives in a lower package and so
    cannot call this one; it includes ``results/_round.html``."""
    return {"round_results": _round_results, "results_label_of": pages.label_of}


def _unit_scope() -> list[int] | None:
    """Units whose figures the current user sees (None: every unit)."""
    if role_of(current_user) is Role.TEAMLEDER:
        return sorted(current_user.unit_ids)
    return None


def _filters() -> tuple[Filters, str | None, list[str]]:
    """Filters from the query string; invalid values are dropped with a Danish message."""
    args = request.args
    problems: list[str] = []
    unit_id: int | None = None
    raw_unit = args.get("enhed", "").strip()
    if raw_unit:
        unit = (
            db.session.get(Unit, int(raw_unit))
            if raw_unit.isdigit() and len(raw_unit) < 10
            else None
        )
        if unit is None or not can_see_unit(current_user, unit):
            problems.append(_("Enheden »%(value)s« findes ikke eller er ikke din.", value=raw_unit))
        else:
            unit_id = unit.id
    periods = {}
    for name in ("fra", "til", "periode"):
        value = args.get(name, "").strip()
        if value and not valid_period(value):
            problems.append(_("»%(value)s« er ikke en periode (fx 2026-K4).", value=value))
            value = ""
        periods[name] = value or None
    scheme = args.get("ordning", "").strip() or None
    if scheme is not None and scheme not in SCHEMES:
        problems.append(_("Ordningen »%(value)s« findes ikke.", value=scheme))
        scheme = None
    filters = Filters(
        unit_id=unit_id,
        theme=args.get("tema", "").strip() or None,
        code=args.get("kontrolpunkt", "").strip() or None,
        scheme=scheme,
        first=periods["fra"],
        last=periods["til"],
    )
    return filters, periods["periode"], problems


@bp.route("/resultater")
@requires("results.view")
def index() -> str:
    filters, period, problems = _filters()
    for p in problems:
        flash(p, "warning")
    opts = options_from_config(filters.scheme)
    scope = _unit_scope()
    key = (
        "index",
        tuple(sorted(request.args.items(multi=True))),
        tuple(scope) if scope is not None else None,
        str(get_locale()),
        data_version(db.session),
    )

    def render() -> str:
        page = pages.results_page(db.session, filters, scope, opts, period)
        return render_template(
            "results/_index_body.html",
            page=page,
            filters=filters,
            opts=opts,
            units=unit_choices(db.session, scope),
            schemes=SCHEMES,
            unit_label=pages.unit_label,
            label_of=pages.label_of,
        )

    return render_template("results/index.html", body=cached_html(key, render))


def overview_html() -> str | None:
    """The director's overview of results for ``/overblik`` (rendered once per data version
    and language); None while there are no results."""
    key = ("overview", str(get_locale()), data_version(db.session))

    def render() -> str:
        ov = pages.overview(db.session, options_from_config())
        if ov.period is None:
            return ""
        return render_template(
            "results/_overview.html", ov=ov, unit_label=pages.unit_label, label_of=pages.label_of
        )

    return cached_html(key, render) or None


@bp.route("/resultater/excel")
@requires("results.view")
def export_excel() -> Response:
    filters, period, problems = _filters()
    if problems:
        abort(400)
    opts = options_from_config(filters.scheme)
    scope = _unit_scope()
    page = pages.results_page(db.session, filters, scope, opts, period)
    rows = pages.export_rows(db.session, page, filters, scope, opts)
    role = role_of(current_user)
    answers: list[int] | bool | None = False
    case_refs = True
    if has_permission(current_user, "results.answers"):
        answers = scope  # a leader: their units; admin: every unit
    elif role is Role.DIREKTOER:
        answers, case_refs = None, False
    body = excel.workbook(
        db.session,
        current_user,
        rows,
        page.periods,
        opts,
        answers_unit_ids=answers,
        case_refs=case_refs,
    )
    return Response(
        body,
        content_type=excel.XLSX_MIMETYPE,
        headers={"Content-Disposition": 'attachment; filename="resultater.xlsx"'},
    )


@bp.route("/rapport/<period>")
@requires("results.view")
def report(period: str) -> str:
    if not valid_period(period):
        abort(404)
    raw_unit = request.args.get("enhed", "").strip()
    unit_id = None
    if raw_unit:
        unit = (
            db.session.get(Unit, int(raw_unit))
            if raw_unit.isdigit() and len(raw_unit) < 10
            else None
        )
        if unit is None:
            abort(404)
        if not can_see_unit(current_user, unit):
            abort(403)
        unit_id = unit.id
    rep = build_report(db.session, period, unit_id, options_from_config(), current_user)
    return render_template(
        "results/report.html", rep=rep, unit_label=pages.unit_label, label_of=pages.label_of
    )
