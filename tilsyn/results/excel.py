"""Excel export of the results on screen (openpyxl), with a *Metode* sheet and, for those who
may see them, the answers behind them."""

from __future__ import annotations

import io
import math
from collections.abc import Collection
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.results.data import load, rounds_of_periods
from tilsyn.results.estimates import Options, ResultRow
from tilsyn.results.exports import REVIEW_COLUMNS, review_rows

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESULT_HEADER = (
    "period",
    "unit",
    "level",
    "series",
    "code",
    "version",
    "theme",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "n",
    "df",
    "provisional",
    "missing",
    "few_cases",
    "change_from",
    "change",
    "change_std_error",
    "change_ci_low",
    "change_ci_high",
    "change_df",
    "change_p_value",
    "change_p_adjusted",
    "flagged",
    "change_year_from",
    "change_year",
    "change_year_p_adjusted",
    "flagged_year",
)


def _v(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _result_row(r: ResultRow) -> list[Any]:
    e, c, y = r.estimate, r.change, r.change_year
    return [
        r.period,
        r.unit,
        r.level,
        r.series,
        r.code,
        r.version,
        r.theme,
        _v(e.estimate),
        _v(e.std_error),
        _v(e.ci_low),
        _v(e.ci_high),
        e.n,
        e.df,
        r.provisional,
        r.missing,
        r.few,
        c.from_period if c else None,
        _v(c.diff) if c else None,
        _v(c.std_error) if c else None,
        _v(c.ci_low) if c else None,
        _v(c.ci_high) if c else None,
        _v(c.df) if c else None,
        _v(c.p_value) if c else None,
        _v(c.p_adjusted) if c else None,
        c.flagged if c else None,
        y.from_period if y else None,
        _v(y.diff) if y else None,
        _v(y.p_adjusted) if y else None,
        y.flagged if y else None,
    ]


def method_lines(opts: Options) -> list[str]:
    return [
        _("Metode"),
        _(
            "Stikprøven for en periode er foreningsmængden af periodens runders aktuelle "
            "stikprøver; strata er (runde, stikprøvens stratum)."
        ),
        _(
            "Vægt = (1/π) · (udtrukne i stratum / afsluttede gennemgange i stratum); et stratum "
            "uden afsluttede gennemgange udgår, og tallet er foreløbigt."
        ),
        _(
            "Kontrolpunkt: Hájek-andel i orden blandt svarene i orden / ikke i orden; "
            "Korn–Graubard-interval. Tema: ratio-estimator (svar i orden / besvarede svar) med "
            "lineariseret standardfejl og t-interval på designets frihedsgrader."
        ),
        _(
            "Ændring: forskel til forrige periode og til samme periode året før, "
            "Welch–Satterthwaite-frihedsgrader, tosidet t-test; markeret når "
            "Benjamini–Hochberg-justeret p ≤ %(q)s blandt alle sammenligninger mellem de to "
            "perioder.",
            q=opts.q,
        ),
        _("Færre end %(n)s besvarede sager: vist nedtonet som »få sager«.", n=opts.min_n),
        _("Konfidensniveau: %(level)s.", level=opts.level),
    ]


def _autosize(ws: Worksheet) -> None:
    for column in ws.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(max(8, width + 2), 60)


def workbook(
    session: Session,
    actor: Any,
    rows: list[ResultRow],
    periods: Collection[str],
    opts: Options,
    *,
    answers_unit_ids: Collection[int] | bool | None = False,
    case_refs: bool = True,
) -> bytes:
    """The results (``rows``), a *Metode* sheet and, unless ``answers_unit_ids`` is False, the
    answers of ``periods`` for those units (None: every unit). ``case_refs`` False leaves out
    the case references and caseworkers (the director's export). The answers never hold free
    text. Exporting answers is recorded in the audit log."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Resultater")
    ws.append(list(RESULT_HEADER))
    for r in rows:
        ws.append(_result_row(r))
    ws.freeze_panes = "A2"
    _autosize(ws)
    method = wb.create_sheet(_("Metode"))
    for line in method_lines(opts):
        method.append([line])
    method.append(
        [
            _(
                "Dannet %(when)s af %(who)s",
                when=datetime.now().strftime("%d-%m-%Y %H:%M"),
                who=getattr(actor, "username", "system"),
            )
        ]
    )
    method.column_dimensions["A"].width = 120
    if answers_unit_ids is not False:
        data = load(session, rounds_of_periods(session, periods))
        names = None
        if answers_unit_ids is not None and answers_unit_ids is not True:
            names = {data.units[u] for u in answers_unit_ids if u in data.units}
        columns = [c for c in REVIEW_COLUMNS if case_refs or c not in ("case_ref", "caseworker")]
        sheet = wb.create_sheet(_("Svar"))
        sheet.append(columns)
        count = 0
        for row in review_rows(data):
            if names is not None and row["unit"] not in names:
                continue
            sheet.append([row[c] for c in columns])
            count += 1
        sheet.freeze_panes = "A2"
        audit.record(
            session,
            actor,
            "export",
            "answers",
            None,
            f"Svar eksporteret til Excel: {count} rækker ({', '.join(sorted(periods))})",
            {"periods": sorted(periods), "rows": count, "case_refs": case_refs},
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
