"""The machine-readable exports: answers as CSV, results as JSON (both also on the CLI).

``tilsyn reviews export`` writes one row per sampled case × round control point
(:data:`REVIEW_COLUMNS`); ``tilsyn results export --json`` the figures of
:mod:`tilsyn.results.estimates` (:func:`results_json`). ``series``, ``theme`` and ``unit`` mean
the same in both: the code of the series' oldest comparable version, the theme code and the
unit's name as recorded with the draw.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.results.data import (
    PeriodData,
    load,
    period_sort_key,
    rounds_of_periods,
)
from tilsyn.results.estimates import Change, Options, ResultRow
from tilsyn.results.services import period_rows
from tilsyn.rounds.models import Round

REVIEW_COLUMNS = (
    "round_id",
    "period",
    "plan",
    "unit",
    "caseworker",
    "case_ref",
    "scheme",
    "stratum",
    "inclusion_probability",
    "review_status",
    "series",
    "control_point",
    "control_point_version",
    "theme",
    "core",
    "outcome",
    "score",
)
OUTCOME_CODES = {
    "in_order": "i_orden",
    "not_in_order": "ikke_i_orden",
    "not_applicable": "ikke_relevant",
}


def _num(value: float) -> str:
    return repr(float(value))


def review_rows(data: PeriodData) -> list[dict[str, str]]:
    """One row per sampled case × control point of its round, in round and draw order."""
    out = []
    for c in data.cases:
        answers = data.answers.get((c.round_id, c.draw_item_id), {})
        for cp_id, is_core in data.round_points.get(c.round_id, []):
            p = data.points[cp_id]
            a = answers.get(cp_id)
            out.append(
                {
                    "round_id": str(c.round_id),
                    "period": c.period,
                    "plan": c.plan,
                    "unit": "" if c.unit_id is None else data.units.get(c.unit_id, ""),
                    "caseworker": c.caseworker,
                    "case_ref": c.case_ref,
                    "scheme": c.scheme,
                    "stratum": c.stratum,
                    "inclusion_probability": _num(c.pi),
                    "review_status": c.status,
                    "series": p.series_code,
                    "control_point": p.code,
                    "control_point_version": str(p.version),
                    "theme": p.theme_code,
                    "core": "true" if is_core else "false",
                    "outcome": OUTCOME_CODES.get(a.outcome or "", "") if a else "",
                    "score": "" if a is None or a.score is None else _num(a.score),
                }
            )
    return out


def reviews_csv(session: Session, round_id: int | None = None, period: str | None = None) -> str:
    """The answers export as CSV text (``;``-separated, header first)."""
    if round_id is not None:
        ids = [round_id] if session.get(Round, round_id) is not None else []
    elif period is not None:
        ids = rounds_of_periods(session, [period])
    else:
        ids = [int(i) for i in session.scalars(select(Round.id).where(Round.draw_id.is_not(None)))]
    data = load(session, ids)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REVIEW_COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(review_rows(data))
    return buf.getvalue()


def all_periods(session: Session) -> list[str]:
    labels = session.scalars(
        select(Round.period_label).where(Round.draw_id.is_not(None)).distinct()
    ).all()
    return sorted({str(x) for x in labels}, key=period_sort_key)


def compute(
    session: Session, periods: Collection[str], opts: Options
) -> dict[str, list[ResultRow]]:
    """Figures with changes for ``periods`` (the same as the pages show)."""
    return period_rows(session, periods, opts)


def _float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def change_dict(ch: Change | None) -> dict[str, Any] | None:
    if ch is None:
        return None
    return {
        "from_period": ch.from_period,
        "diff": _float(ch.diff),
        "std_error": _float(ch.std_error),
        "ci_low": _float(ch.ci_low),
        "ci_high": _float(ch.ci_high),
        "df": _float(ch.df),
        "p_value": _float(ch.p_value),
        "flagged": ch.flagged,
    }


def row_dict(r: ResultRow) -> dict[str, Any]:
    e = r.estimate
    return {
        "period": r.period,
        "unit": r.unit,
        "level": r.level,
        "series": r.series,
        "code": r.code,
        "version": r.version,
        "theme": r.theme,
        "estimate": _float(e.estimate),
        "std_error": _float(e.std_error),
        "ci_low": _float(e.ci_low),
        "ci_high": _float(e.ci_high),
        "n": e.n,
        "df": e.df,
        "provisional": r.provisional,
        "change": change_dict(r.change),
    }


def results_json(session: Session, period: str | None, opts: Options) -> list[dict[str, Any]]:
    """The results export: every figure of ``period`` (default: every period with a draw)."""
    periods = [period] if period is not None else all_periods(session)
    rows = compute(session, periods, opts)
    return [row_dict(r) for p in periods for r in rows.get(p, [])]
