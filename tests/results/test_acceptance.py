"""Acceptance: ``tilsyn results export --json`` for the demo equals, within 1e-9, what the
definitions give when recomputed from ``tilsyn reviews export`` by the independent
implementation below (plain loops over the CSV rows, SciPy's distributions; nothing from
``tilsyn.stats`` or ``tilsyn.results``)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from scipy import stats as sps

from tilsyn.results.commands import export_results, export_reviews

TOL = 1e-9
Q = 0.10
LEVEL = 0.95


@dataclass
class Fig:
    estimate: float
    se: float
    low: float
    high: float
    n: int
    df: int


def _variance(z: dict[Any, float], stratum_of: dict[Any, Any]) -> float:
    """Stratified with-replacement variance of the total of z (zeros outside the domain count
    in their stratum); a stratum with one unit contributes z² (lonely PSU, centred at 0)."""
    by: dict[Any, list[float]] = defaultdict(list)
    for k, h in stratum_of.items():
        by[h].append(z.get(k, 0.0))
    v = 0.0
    for vals in by.values():
        if len(vals) == 1:
            v += vals[0] ** 2
        else:
            m = sum(vals) / len(vals)
            v += len(vals) / (len(vals) - 1) * sum((x - m) ** 2 for x in vals)
    return v


def _df(dom: list[Any], stratum_of: dict[Any, Any]) -> int:
    return len(dom) - len({stratum_of[k] for k in dom})


def ratio_fig(
    y: dict[Any, float],
    x: dict[Any, float],
    w: dict[Any, float],
    dom: list[Any],
    stratum_of: dict[Any, Any],
) -> Fig:
    if not dom:
        return Fig(math.nan, math.nan, math.nan, math.nan, 0, 0)
    tx = sum(w[k] * x[k] for k in dom)
    r = sum(w[k] * y[k] for k in dom) / tx
    z = {k: w[k] * (y[k] - r * x[k]) / tx for k in dom}
    se = math.sqrt(_variance(z, stratum_of))
    df = _df(dom, stratum_of)
    if df <= 0:
        return Fig(r, se, math.nan, math.nan, len(dom), df)
    t = sps.t.ppf(1 - (1 - LEVEL) / 2, df)
    return Fig(r, se, r - t * se, r + t * se, len(dom), df)


def prop_fig(
    y: dict[Any, float], w: dict[Any, float], dom: list[Any], stratum_of: dict[Any, Any]
) -> Fig:
    n = len(dom)
    if n == 0:
        return Fig(math.nan, math.nan, math.nan, math.nan, 0, 0)
    f = ratio_fig(y, dict.fromkeys(y, 1.0), w, dom, stratum_of)
    p, var, df = f.estimate, f.se**2, f.df
    a = 1 - LEVEL
    if var <= 0 or p in (0.0, 1.0):  # Clopper-Pearson
        s = p * n
        low = 0.0 if s <= 0 else sps.beta.ppf(a / 2, s, n - s + 1)
        high = 1.0 if s >= n else sps.beta.ppf(1 - a / 2, s + 1, n - s)
        return Fig(p, f.se, low, high, n, df)
    if df <= 0:
        return Fig(p, f.se, math.nan, math.nan, n, df)
    n_eff = p * (1 - p) / var * (sps.t.ppf(a / 2, n - 1) / sps.t.ppf(a / 2, df)) ** 2
    low = sps.beta.ppf(a / 2, n_eff * p, n_eff * (1 - p) + 1)
    high = sps.beta.ppf(1 - a / 2, n_eff * p + 1, n_eff * (1 - p))
    return Fig(p, f.se, low, high, n, df)


def recompute(rows: list[dict[str, str]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """{(period, unit, level, code): figure} from the answers export, by the definitions."""
    by_period: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_period[r["period"]].append(r)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for period, prow in by_period.items():
        cases: dict[tuple[str, str], dict[str, str]] = {}
        for r in prow:
            cases[(r["round_id"], r["case_ref"])] = r
        stratum = {k: (c["round_id"], c["stratum"]) for k, c in cases.items()}
        sampled: dict[Any, int] = defaultdict(int)
        done: dict[Any, int] = defaultdict(int)
        for k, c in cases.items():
            sampled[stratum[k]] += 1
            done[stratum[k]] += c["review_status"] == "completed"
        resp = [k for k, c in cases.items() if c["review_status"] == "completed"]
        resp_stratum = {k: stratum[k] for k in resp}
        w = {
            k: 1 / float(cases[k]["inclusion_probability"]) * sampled[stratum[k]] / done[stratum[k]]
            for k in resp
        }
        units = [None, *sorted({c["unit"] for c in cases.values()})]
        # per series and theme: answers of respondents and the rounds asking it
        series_ans: dict[str, dict[Any, tuple[int, str]]] = defaultdict(dict)
        series_rounds: dict[str, set[str]] = defaultdict(set)
        series_latest: dict[str, tuple[int, str, str]] = {}
        theme_y: dict[str, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
        theme_x: dict[str, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
        theme_rounds: dict[str, set[str]] = defaultdict(set)
        for r in prow:
            k = (r["round_id"], r["case_ref"])
            s, version = r["series"], int(r["control_point_version"])
            series_rounds[s].add(r["round_id"])
            theme_rounds[r["theme"]].add(r["round_id"])
            if s not in series_latest or version > series_latest[s][0]:
                series_latest[s] = (version, r["control_point"], r["theme"])
            if k not in w or not r["outcome"]:
                continue
            if k not in series_ans[s] or version > series_ans[s][k][0]:
                series_ans[s][k] = (version, r["outcome"])
            if r["outcome"] != "ikke_relevant":
                theme_x[r["theme"]][k] += 1
                theme_y[r["theme"]][k] += r["outcome"] == "i_orden"

        def missing(
            rounds: set[str], unit: str | None, cases: dict[tuple[str, str], dict[str, str]] = cases
        ) -> bool:
            return any(
                c["review_status"] != "completed"
                for c in cases.values()
                if c["round_id"] in rounds and (unit is None or c["unit"] == unit)
            )

        for s, ans in series_ans.items():
            y = {
                k: 1.0 if o == "i_orden" else 0.0
                for k, (_v, o) in ans.items()
                if o != "ikke_relevant"
            }
            version, code, theme = series_latest[s]
            for unit in units:
                dom = [k for k in resp if k in y and (unit is None or cases[k]["unit"] == unit)]
                out[(period, unit, "control_point", code)] = {
                    "fig": prop_fig(y, w, dom, resp_stratum),
                    "series": s,
                    "version": version,
                    "theme": theme,
                    "provisional": missing(series_rounds[s], unit),
                }
        for t in theme_rounds:
            tx, ty = theme_x[t], theme_y[t]
            for unit in units:
                dom = [
                    k
                    for k in resp
                    if tx.get(k, 0) > 0 and (unit is None or cases[k]["unit"] == unit)
                ]
                out[(period, unit, "theme", t)] = {
                    "fig": ratio_fig(dict(ty), dict(tx), w, dom, resp_stratum),
                    "series": None,
                    "version": None,
                    "theme": t,
                    "provisional": missing(theme_rounds[t], unit),
                }
    return out


def previous(label: str) -> str:
    year, q = int(label[:4]), int(label[-1])
    return f"{year - 1}-K4" if q == 1 else f"{year}-K{q - 1}"


def eff_se(f: Fig) -> float:
    if f.se > 0 or not f.high > f.low:
        return f.se
    return (f.high - f.low) / (2 * sps.norm.ppf(1 - (1 - LEVEL) / 2))


def changes(figs: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    family: dict[tuple[str, str], list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
    for key, cur in figs.items():
        period, unit, level, code = key
        before = figs.get((previous(period), unit, level, code))
        if before is None or before["fig"].n == 0 or cur["fig"].n == 0:
            continue
        a, b = before["fig"], cur["fig"]
        sa, sb = eff_se(a), eff_se(b)
        diff = b.estimate - a.estimate
        if min(a.df, b.df) <= 0 or not (math.isfinite(sa) and math.isfinite(sb)):
            ch = {
                "diff": diff,
                "std_error": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "df": math.nan,
                "p_value": math.nan,
            }
        else:
            va, vb = sa * sa, sb * sb
            se = math.sqrt(va + vb)
            df = a.df + b.df if va + vb == 0 else (va + vb) ** 2 / (va**2 / a.df + vb**2 / b.df)
            t = sps.t.ppf(1 - (1 - LEVEL) / 2, df)
            p = 2 * sps.t.sf(abs(diff) / se, df) if se > 0 else (0.0 if diff else 1.0)
            ch = {
                "diff": diff,
                "std_error": se,
                "ci_low": diff - t * se,
                "ci_high": diff + t * se,
                "df": df,
                "p_value": p,
            }
        ch["from_period"] = previous(period)
        family[(previous(period), period)].append((key, ch))
    out = {}
    for members in family.values():
        valid = [(k, c) for k, c in members if not math.isnan(c["p_value"])]
        m = len(valid)
        ranked = sorted(valid, key=lambda kc: kc[1]["p_value"])
        # step-up: flag the k smallest where k is the largest rank with p_(k) <= q k / m
        cut = max(
            (i + 1 for i, (_k, c) in enumerate(ranked) if c["p_value"] <= Q * (i + 1) / m),
            default=0,
        )
        flagged = {k for k, _c in ranked[:cut]}
        for k, c in members:
            c["flagged"] = k in flagged
            out[k] = c
    return out


def _close(got: Any, want: Any, what: str) -> None:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        assert got is None, what
    else:
        assert got == pytest.approx(want, abs=TOL), what


def test_results_json_equals_recomputation_from_answers_export(demo_app: Flask) -> None:
    runner = demo_app.test_cli_runner()
    res = runner.invoke(export_reviews, [])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output), delimiter=";"))
    assert rows and list(rows[0]) == [
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
    ]
    res = runner.invoke(export_results, ["--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    want = recompute(rows)
    want_changes = changes(want)
    assert len(got) == len(want) > 1000
    seen = set()
    flagged = provisional = with_change = 0
    for g in got:
        key = (g["period"], g["unit"], g["level"], g["code"])
        assert key not in seen
        seen.add(key)
        w = want[key]
        f = w["fig"]
        what = repr(key)
        assert (g["series"], g["version"], g["theme"]) == (w["series"], w["version"], w["theme"])
        assert (g["n"], g["df"], g["provisional"]) == (f.n, f.df, w["provisional"]), what
        _close(g["estimate"], f.estimate, what)
        _close(g["std_error"], f.se, what)
        _close(g["ci_low"], f.low, what)
        _close(g["ci_high"], f.high, what)
        provisional += g["provisional"]
        wc = want_changes.get(key)
        if wc is None:
            assert g["change"] is None, what
            continue
        with_change += 1
        gc = g["change"]
        assert gc["from_period"] == wc["from_period"]
        for name in ("diff", "std_error", "ci_low", "ci_high", "df", "p_value"):
            _close(gc[name], wc[name], f"{what} {name}")
        assert gc["flagged"] == wc["flagged"], what
        flagged += gc["flagged"]
    assert with_change > 300
    assert provisional > 0  # the current quarter is still being reviewed
    assert flagged > 0  # the demo story has a real change


def test_period_filter_and_bad_period(demo_app: Flask) -> None:
    runner = demo_app.test_cli_runner()
    res = runner.invoke(export_results, ["--json", "--period", "2026-K3"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert got and {g["period"] for g in got} == {"2026-K3"}
    assert any(g["unit"] is None for g in got) and any(g["unit"] for g in got)
    res = runner.invoke(export_results, ["--json", "--period", "K3-2026"])
    assert res.exit_code != 0 and "ikke en periode" in res.output
    res = runner.invoke(export_reviews, ["--period", "2026-K3"])
    rows = list(csv.DictReader(io.StringIO(res.output), delimiter=";"))
    assert rows and {r["period"] for r in rows} == {"2026-K3"}
    assert "@" not in res.output  # no free text / names beyond initials


def test_reviews_export_one_round_to_a_file(demo_app: Flask, tmp_path) -> None:
    runner = demo_app.test_cli_runner()
    out = tmp_path / "svar.csv"
    res = runner.invoke(export_reviews, ["--round", "1", "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")), delimiter=";"))
    assert rows and {r["round_id"] for r in rows} == {"1"}
    assert {r["review_status"] for r in rows} <= {"completed", "draft", "not_started"}
    assert {r["outcome"] for r in rows} <= {"i_orden", "ikke_i_orden", "ikke_relevant", ""}
    # full precision: the probability reads back as the same float
    assert all(float(r["inclusion_probability"]) > 0 for r in rows)
    res = runner.invoke(export_reviews, ["--round", "999999"])
    assert res.exit_code == 0 and res.output.count("\n") == 1  # the header only
