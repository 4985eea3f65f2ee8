"""Tests for the results-over-periods statistics: ratio, Benjamini–Hochberg, change p-value.

Independent oracles:

* ``fixtures/r_reference_results.json`` — R (script: ``r/make_reference_results.R``):
  ``confint(svyratio(~y, ~x, sub), df = degf(sub))`` and ``svyciprop(method = "beta")`` on
  non-response-adjusted weights, ``p.adjust(method = "BH")``, ``2 * pt(-abs(d / se), df)``;
* a plain-Python loop implementation of the ratio linearisation;
* brute-force BH from its definition (the step-up rule over all k).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsyn.stats.estimation import (
    Estimate,
    bh_adjust,
    compare,
    estimate_proportion,
    estimate_ratio,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "fixtures" / "r_reference_results.json").read_text()
)
RATIO: list[dict[str, Any]] = REFERENCE["ratio"]
PROPORTION: list[dict[str, Any]] = REFERENCE["proportion"]


@pytest.mark.parametrize("case", RATIO, ids=[c["name"] for c in RATIO])
def test_ratio_matches_r_svyratio(case: dict[str, Any]) -> None:
    e = estimate_ratio(
        case["y"], case["x"], case["pi"], case["strata"], case["domain"], level=case["level"]
    )
    assert e.estimate == pytest.approx(case["estimate"], abs=1e-12)
    assert e.std_error == pytest.approx(case["std_error"], abs=1e-12)
    assert e.ci_low == pytest.approx(case["ci_low"], abs=1e-10)
    assert e.ci_high == pytest.approx(case["ci_high"], abs=1e-10)
    assert e.df == case["df"]
    assert e.n == case["n"]


def test_reference_has_lonely_and_dropped_strata() -> None:
    assert len(RATIO) >= 5 and len(PROPORTION) >= 2
    strata = RATIO[0]["strata"]
    counts = {s: strata.count(s) for s in strata}
    assert 1 in counts.values()  # a lonely stratum among the respondents
    assert not any(s.endswith("|cw3") for s in strata)  # the stratum without respondents


@pytest.mark.parametrize("case", PROPORTION, ids=[c["name"] for c in PROPORTION])
def test_adjusted_weights_proportion_matches_r(case: dict[str, Any]) -> None:
    e = estimate_proportion(case["y"], case["pi"], case["strata"], case["domain"], case["level"])
    assert e.estimate == pytest.approx(case["estimate"], abs=1e-12)
    assert e.std_error == pytest.approx(case["std_error"], abs=1e-12)
    assert e.ci_low == pytest.approx(case["ci_low"], abs=1e-10)
    assert e.ci_high == pytest.approx(case["ci_high"], abs=1e-10)
    assert e.df == case["df"]


def _loop_ratio(
    y: list[float], x: list[float], pi: list[float], strata: list[int], dom: list[bool]
) -> tuple[float, float]:
    w = [1 / p for p in pi]
    ty = sum(wi * yi for wi, yi, d in zip(w, y, dom, strict=True) if d)
    tx = sum(wi * xi for wi, xi, d in zip(w, x, dom, strict=True) if d)
    r = ty / tx
    z = [
        (wi * (yi - r * xi) / tx if d else 0.0) for wi, yi, xi, d in zip(w, y, x, dom, strict=True)
    ]
    var = 0.0
    for h in set(strata):
        zh = [zi for zi, s in zip(z, strata, strict=True) if s == h]
        if len(zh) == 1:
            var += zh[0] ** 2
        else:
            m = sum(zh) / len(zh)
            var += len(zh) / (len(zh) - 1) * sum((v - m) ** 2 for v in zh)
    return r, math.sqrt(var)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(2, 25))
def test_ratio_against_loop_oracle(data: st.DataObject, n: int) -> None:
    x = data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    y = [data.draw(st.integers(0, xi)) for xi in x]
    pi = data.draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    strata = data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    dom = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if not any(d and xi > 0 for d, xi in zip(dom, x, strict=True)):
        e = estimate_ratio(y, x, pi, strata, dom)
        assert math.isnan(e.estimate)
        return
    r, se = _loop_ratio([float(v) for v in y], [float(v) for v in x], pi, strata, dom)
    e = estimate_ratio(y, x, pi, strata, dom)
    assert e.estimate == pytest.approx(r, rel=1e-10, abs=1e-12)
    assert e.std_error == pytest.approx(se, rel=1e-8, abs=1e-12)
    assert e.n == sum(dom)


def test_ratio_with_x_one_is_the_mean() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 30).astype(float)
    pi = rng.uniform(0.1, 0.9, 30)
    strata = rng.integers(0, 6, 30)
    r = estimate_ratio(y, np.ones(30), pi, strata)
    p = estimate_proportion(y, pi, strata)
    assert r.estimate == pytest.approx(p.estimate, abs=1e-14)
    assert r.std_error == pytest.approx(p.std_error, abs=1e-14)


def test_ratio_invalid_and_empty() -> None:
    with pytest.raises(ValueError, match="x must have shape"):
        estimate_ratio([1, 0], [1, 1, 1], [0.5, 0.5], [0, 1])
    with pytest.raises(ValueError, match="x must be finite"):
        estimate_ratio([1, 0], [1, math.nan], [0.5, 0.5], [0, 1])
    e = estimate_ratio([1, 0], [1, 1], [0.5, 0.5], [0, 1], [False, False])
    assert e.n == 0 and math.isnan(e.estimate)
    e = estimate_ratio([0, 0], [0, 0], [0.5, 0.5], [0, 0], level=0.9)
    # Σ w x = 0: every figure NaN, on the domain's units, no degrees of freedom, the level kept
    assert all(math.isnan(v) for v in (e.estimate, e.std_error, e.ci_low, e.ci_high))
    assert (e.n, e.df, e.level) == (2, 0, 0.9)


@pytest.mark.parametrize("case", REFERENCE["bh"])
def test_bh_matches_r(case: dict[str, Any]) -> None:
    p = [math.nan if v is None else v for v in case["p"]]
    got = bh_adjust(p)
    for g, want in zip(got, case["adjusted"], strict=True):
        if want is None:
            assert math.isnan(g)
        else:
            assert g == pytest.approx(want, abs=1e-15)


def _bh_brute(p: list[float], q: float) -> list[bool]:
    m = len(p)
    ordered = sorted(p)
    k = max((i + 1 for i in range(m) if ordered[i] <= q * (i + 1) / m), default=0)
    cut = ordered[k - 1] if k else -1.0
    return [v <= cut for v in p]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from([0.05, 0.1, 0.2]))
def test_bh_flags_equal_the_step_up_rule(p: list[float], q: float) -> None:
    flags = bh_adjust(p) <= q
    assert flags.tolist() == _bh_brute(p, q)


def test_bh_invalid() -> None:
    with pytest.raises(ValueError, match=r"^p-values must lie in \[0, 1\]$"):
        bh_adjust([0.5, 1.5])
    with pytest.raises(ValueError, match=r"^p_values must be one-dimensional, got shape \(1, 1\)$"):
        bh_adjust([[0.5]])
    assert bh_adjust([]).shape == (0,)


def test_change_p_value_matches_r() -> None:
    t = REFERENCE["t_p"]
    assert len(t["p"]) >= 4
    for k, want in enumerate(t["p"]):
        a = Estimate(t["a_est"][k], t["a_se"][k], 0, 1, 100, int(t["a_df"][k]), 0.95)
        b = Estimate(t["b_est"][k], t["b_se"][k], 0, 1, 100, int(t["b_df"][k]), 0.95)
        d = compare(a, b)
        assert d.diff == pytest.approx(t["diff"][k], abs=1e-15)
        assert d.std_error == pytest.approx(t["se"][k], rel=1e-12)
        assert d.df == pytest.approx(t["df"][k], rel=1e-12)
        assert d.p_value == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_change_p_value_consistent_with_interval() -> None:
    rng = np.random.default_rng(9)
    for _ in range(200):
        a = Estimate(0.5, float(rng.uniform(0.01, 0.2)), 0, 1, 40, int(rng.integers(2, 60)), 0.95)
        b = Estimate(
            float(rng.uniform(0.2, 0.9)),
            float(rng.uniform(0.01, 0.2)),
            0,
            1,
            40,
            int(rng.integers(2, 60)),
            0.95,
        )
        d = compare(a, b)
        assert d.significant == (d.p_value < 0.05)
    same = compare(
        Estimate(0.5, 0.0, 0.5, 0.5, 5, 4, 0.95), Estimate(0.5, 0.0, 0.5, 0.5, 5, 4, 0.95)
    )
    assert same.p_value == 1.0
    nan = compare(Estimate(0.5, 0.1, 0, 1, 5, 0, 0.95), Estimate(0.5, 0.1, 0, 1, 5, 4, 0.95))
    assert math.isnan(nan.p_value)
