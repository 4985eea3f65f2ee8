"""Tests for tilsyn.stats.estimation.

Independent oracles:

* ``fixtures/r_reference.json`` — R's survey package (script: ``r/make_reference.R``):
  ``svyciprop(method = "beta")``, ``svymean``, ``confint(df = degf(sub))``, ``degf`` and
  ``binom.test`` (Clopper–Pearson) on designs with a lonely stratum, a domain missing
  whole strata, estimates of exactly 0 and 1, and unequal π;
* closed forms (simple random sampling share and SE, Clopper–Pearson at 0);
* a plain-Python loop implementation of the textbook linearisation formulas;
* a coverage simulation using the sampling module.
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
from scipy import stats as sps

from tilsyn.stats.estimation import (
    Difference,
    Estimate,
    compare,
    estimate_mean,
    estimate_proportion,
    stratum_codes,
)
from tilsyn.stats.sampling import draw_stratified

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "r_reference.json").read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]


# ----------------------------------------------------------------------- R reference


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_r_survey(case: dict[str, Any]) -> None:
    fn = estimate_proportion if case["kind"] == "proportion" else estimate_mean
    e = fn(case["y"], case["pi"], case["strata"], case["domain"], level=case["level"])
    assert isinstance(e, Estimate)
    assert e.estimate == pytest.approx(case["estimate"], abs=1e-12)
    assert e.std_error == pytest.approx(case["std_error"], abs=1e-12)
    assert e.df == case["df"]
    assert e.n == case["n"]
    assert e.level == case["level"]
    if case["ci_low"] is not None:
        assert e.ci_low == pytest.approx(case["ci_low"], abs=1e-10)
        assert e.ci_high == pytest.approx(case["ci_high"], abs=1e-10)
    else:
        # R returns NaN for an estimate of exactly 0 or 1; we return Clopper-Pearson
        # for the domain's sample size, compared with R's binom.test.
        assert case["estimate"] in (0, 1)
        low, high = case["clopper_pearson"]
        assert e.ci_low == pytest.approx(low, abs=1e-10)
        assert e.ci_high == pytest.approx(high, abs=1e-10)


def test_reference_covers_the_required_situations() -> None:
    names = {c["name"] for c in CASES}
    assert {"lonely_stratum_full", "domain_misses_strata", "estimate_zero"} <= names
    lonely = next(c for c in CASES if c["name"] == "lonely_stratum_full")
    assert min(lonely["strata"].count(s) for s in set(lonely["strata"])) == 1
    assert len(set(lonely["pi"])) > 1


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_integer_codes_give_same_result(case: dict[str, Any]) -> None:
    fn = estimate_proportion if case["kind"] == "proportion" else estimate_mean
    by_label = fn(case["y"], case["pi"], case["strata"], case["domain"])
    codes = stratum_codes(case["strata"])
    assert codes.dtype == np.int64
    by_code = fn(case["y"], case["pi"], codes, case["domain"])
    shifted = fn(case["y"], case["pi"], codes * 7 + 1000, case["domain"])
    assert by_code == by_label
    assert shifted.std_error == pytest.approx(by_label.std_error, abs=1e-15)


def test_stratum_codes_are_compact_in_label_order() -> None:
    assert stratum_codes([7, 5, 7, 9]).tolist() == [1, 0, 1, 2]
    assert stratum_codes(["b", "a", "b"]).tolist() == [1, 0, 1]
    assert stratum_codes([("x", 2), ("x", 1)]).tolist() == [1, 0]


def test_tuple_labels_are_accepted_like_draw_stratified() -> None:
    """(caseworker, scheme) labels, as draw_stratified takes them, give the same estimate."""
    rng = np.random.default_rng(11)
    cells = [("ann", "syg"), ("ann", "flex"), ("bo", "syg"), ("cy", "x")]
    strata = [("ann", "syg")] * 6 + [("ann", "flex")] * 3 + [("bo", "syg")] * 5 + [("cy", "x")] * 4
    size = 1 + rng.random(len(strata))
    sel, pi = draw_stratified(strata, size, {c: 2 for c in cells}, rng)
    labels = [strata[i] for i in sel.tolist()]
    y = rng.integers(0, 2, len(labels)).astype(float)
    by_tuple = estimate_proportion(y, pi[sel], labels)
    as_text = [f"{a}|{b}" for a, b in labels]  # the same partition, string labels
    assert by_tuple == estimate_proportion(y, pi[sel], as_text)
    assert estimate_mean(y, pi[sel], labels) == estimate_mean(y, pi[sel], as_text)
    np.testing.assert_array_equal(stratum_codes(labels), stratum_codes(as_text))
    # a 2-d array is read row by row as tuple labels
    grid = np.array([[1, 2], [1, 2], [3, 4], [3, 4]])
    assert estimate_mean([1.0, 2.0, 3.0, 5.0], [0.5] * 4, grid) == estimate_mean(
        [1.0, 2.0, 3.0, 5.0], [0.5] * 4, [0, 0, 1, 1]
    )


# ---------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("successes", "n"), [(17, 20), (1, 9), (5, 6), (30, 31)])
def test_srs_one_stratum_is_plain_share(successes: int, n: int) -> None:
    """λ = 0, one stratum: share = x/n and SE² = p(1−p)/(n−1) (with-replacement)."""
    y = [1.0] * successes + [0.0] * (n - successes)
    pi = [0.3] * n
    e = estimate_proportion(y, pi, ["s"] * n)
    p = successes / n
    assert e.estimate == pytest.approx(p, abs=1e-15)
    assert e.std_error == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)), rel=1e-12)
    assert e.df == n - 1 and e.n == n
    # one stratum: the df correction cancels, n_eff = p(1-p)/v = n - 1
    n_eff = n - 1
    low = sps.beta.ppf(0.025, n_eff * p, n_eff * (1 - p) + 1)
    high = sps.beta.ppf(0.975, n_eff * p + 1, n_eff * (1 - p))
    assert (e.ci_low, e.ci_high) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 40])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_zero_and_one_use_clopper_pearson(n: int, level: float) -> None:
    rng = np.random.default_rng(n)
    pi = rng.uniform(0.1, 0.9, n)
    strata = np.arange(n) // 2
    alpha = 1 - level
    zero = estimate_proportion(np.zeros(n), pi, strata, level=level)
    assert zero.estimate == 0 and zero.std_error == 0
    assert zero.ci_low == 0
    assert zero.ci_high == pytest.approx(1 - (alpha / 2) ** (1 / n), abs=1e-12)
    one = estimate_proportion(np.ones(n), pi, strata, level=level)
    assert one.estimate == 1 and one.ci_high == 1
    assert one.ci_low == pytest.approx((alpha / 2) ** (1 / n), abs=1e-12)


def test_mean_t_interval_by_hand() -> None:
    y = [1, 2, 3, 3, 2, 1, 3]
    pi = [0.5] * 7
    e = estimate_mean(y, pi, [0] * 7, level=0.9)
    mean = sum(y) / 7
    var = sum((v - mean) ** 2 for v in y) / 6 / 7  # s²/n, no fpc
    assert e.estimate == pytest.approx(mean, abs=1e-15)
    assert e.std_error == pytest.approx(math.sqrt(var), rel=1e-12)
    half = sps.t.ppf(0.95, 6) * math.sqrt(var)
    assert (e.ci_low, e.ci_high) == pytest.approx((mean - half, mean + half), abs=1e-12)


# ---------------------------------------------------------- plain-Python loop oracle


def _loop_oracle(
    y: list[float], pi: list[float], strata: list[int], dom: list[bool]
) -> tuple[float, float, int]:
    """Textbook Hájek + stratified with-replacement linearisation, plain loops."""
    tw = sum(1 / p for p, d in zip(pi, dom, strict=True) if d)
    est = sum(v / p for v, p, d in zip(y, pi, dom, strict=True) if d) / tw
    groups: dict[int, list[float]] = {}
    for v, p, h, d in zip(y, pi, strata, dom, strict=True):
        groups.setdefault(h, []).append((v - est) / p / tw if d else 0.0)
    var = 0.0
    for zs in groups.values():
        if len(zs) == 1:
            var += zs[0] ** 2  # lonely: centred at the grand mean, which is 0
        else:
            m = sum(zs) / len(zs)
            var += len(zs) / (len(zs) - 1) * sum((z - m) ** 2 for z in zs)
    df = sum(dom) - len({h for h, d in zip(strata, dom, strict=True) if d})
    return est, math.sqrt(var), df


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=40))
def test_against_loop_oracle(data: st.DataObject, n: int) -> None:
    strata = data.draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    pi = data.draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n))
    dom = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    e = estimate_proportion(y, pi, strata, dom)
    if not any(dom):
        assert math.isnan(e.estimate) and e.n == 0
        return
    est, se, df = _loop_oracle(y, pi, strata, dom)
    assert e.estimate == pytest.approx(est, abs=1e-12)
    assert e.std_error == pytest.approx(se, abs=1e-12)
    assert e.df == df and e.n == sum(dom)
    assert 0 <= e.estimate <= 1
    if math.isfinite(e.ci_low):
        assert 0 <= e.ci_low <= e.estimate <= e.ci_high <= 1
    else:
        assert df <= 0
    scores = [3.0 if v else 1.0 for v in y]
    m = estimate_mean(scores, pi, strata, dom)
    est_m, se_m, _ = _loop_oracle(scores, pi, strata, dom)
    assert m.estimate == pytest.approx(est_m, abs=1e-12)
    assert m.std_error == pytest.approx(se_m, abs=1e-12)


# --------------------------------------------------------------- degenerate / errors


def test_empty_domain_and_no_df() -> None:
    e = estimate_proportion([1, 0], [0.5, 0.5], [0, 1], [False, False], level=0.9)
    assert e.n == 0 and e.df == 0 and e.level == 0.9
    assert all(math.isnan(v) for v in (e.estimate, e.std_error, e.ci_low, e.ci_high))
    # every domain unit in its own stratum: df = 0, SE exists, interval not estimable
    e = estimate_proportion([1, 0, 1, 1], [0.5] * 4, [0, 0, 1, 1], [True, False, False, True])
    assert e.df == 0 and e.estimate == 1.0
    e = estimate_proportion(
        [1, 0, 1, 0], [0.5] * 4, [0, 0, 1, 1], [True, False, False, True], level=0.8
    )
    assert e.df == 0 and e.std_error > 0 and math.isnan(e.ci_low) and math.isnan(e.ci_high)
    assert (e.estimate, e.n, e.level) == (0.5, 2, 0.8)
    m = estimate_mean([1, 0, 3, 1], [0.5] * 4, [0, 0, 1, 1], [True, False, True, False], 0.8)
    assert m.df == 0 and math.isnan(m.ci_low) and math.isnan(m.ci_high)
    assert (m.estimate, m.n, m.level) == (2.0, 2, 0.8) and m.std_error > 0
    m = estimate_mean([2.0], [0.5], [0], None)
    assert m.estimate == 2.0 and m.std_error == 0 and math.isnan(m.ci_high)


def test_nan_allowed_outside_domain_only() -> None:
    y = [1.0, float("nan"), 0.0, 1.0]
    e = estimate_proportion(y, [0.5] * 4, [0, 0, 1, 1], [True, False, True, True])
    assert e.n == 3 and math.isfinite(e.estimate)
    with pytest.raises(ValueError, match="finite"):
        estimate_proportion(y, [0.5] * 4, [0, 0, 1, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": [0, 2]}, r"^y must lie in \[0, 1\] for a proportion$"),
        (
            {"y": [0.0, None]},
            r"^y must be finite for every unit in the domain \(exclude NaN answers\)$",
        ),
        ({"pi": [0.5, 0.0]}, r"^pi must lie in \(0, 1\]$"),
        ({"pi": [0.5, 1.5]}, r"^pi must lie in \(0, 1\]$"),
        ({"pi": [0.5, None]}, r"^pi must lie in \(0, 1\]$"),
        ({"pi": [0.5]}, r"^pi must have shape \(2,\), got \(1,\)$"),
        ({"strata": [0]}, r"^strata must hold 2 labels, got 1$"),
        ({"domain": [True]}, r"^domain must have shape \(2,\), got \(1,\)$"),
        ({"domain": [2, 0]}, r"^domain must be a boolean mask$"),
        ({"level": 1.0}, r"^level must lie strictly between 0 and 1, got 1.0$"),
        ({"y": [[0, 1]]}, r"^y must be one-dimensional, got shape \(1, 2\)$"),
    ],
)
def test_invalid_input(kwargs: dict[str, Any], match: str) -> None:
    """Invalid input raises ValueError saying what is wrong (the whole message is checked)."""
    args: dict[str, Any] = {"y": [0, 1], "pi": [0.5, 0.5], "strata": [0, 0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        estimate_proportion(**args)
    if "y" not in kwargs or kwargs["y"] != [0, 2]:
        with pytest.raises(ValueError, match=match):
            estimate_mean(**args)


# -------------------------------------------------------------------------- compare


def _est(estimate: float, se: float, df: int, lo: float = 0.0, hi: float = 1.0) -> Estimate:
    return Estimate(estimate, se, lo, hi, df + 1, df, 0.95)


def test_compare_by_hand() -> None:
    a, b = _est(0.70, 0.05, 10), _est(0.85, 0.04, 25)
    d = compare(a, b)
    assert isinstance(d, Difference)
    va, vb = 0.05**2, 0.04**2
    df = (va + vb) ** 2 / (va**2 / 10 + vb**2 / 25)
    se = math.sqrt(va + vb)
    half = sps.t.ppf(0.975, df) * se
    assert d.diff == pytest.approx(0.15, abs=1e-15)
    assert d.std_error == pytest.approx(se, rel=1e-12)
    assert d.df == pytest.approx(df, rel=1e-12)
    assert (d.ci_low, d.ci_high) == pytest.approx((0.15 - half, 0.15 + half), abs=1e-12)
    assert d.significant == (0.15 - half > 0)
    assert d.significant  # 0.15 / 0.064 ≈ 2.3 > t(0.975, ~19)
    rev = compare(b, a)
    assert rev.diff == -d.diff and rev.significant
    assert (rev.ci_low, rev.ci_high) == pytest.approx((-d.ci_high, -d.ci_low), abs=1e-15)
    assert not compare(a, _est(0.75, 0.04, 25)).significant


def test_compare_degenerate() -> None:
    nan = compare(_est(0.5, float("nan"), 0), _est(0.6, 0.1, 5))
    assert math.isnan(nan.std_error) and not nan.significant
    assert not compare(_est(0.5, 0.1, 0), _est(0.9, 0.01, 50)).significant
    # 0 % vs 100 % on 2 cases each: not a certain change (Clopper-Pearson width used)
    n2 = [0.5, 0.5]
    zero = estimate_proportion([0, 0], n2, [0, 0])
    one = estimate_proportion([1, 1], n2, [0, 0])
    small = compare(zero, one)
    assert small.std_error > 0 and not small.significant
    # ... but on 60 cases each it is
    n60 = [0.5] * 60
    strata = [i // 2 for i in range(60)]
    big = compare(
        estimate_proportion([0] * 60, n60, strata), estimate_proportion([1] * 60, n60, strata)
    )
    assert big.significant and big.ci_low > 0.5


# ----------------------------------------------------------------- coverage (design)


@pytest.mark.slow
def test_korn_graubard_coverage_under_risk_weighted_sampling() -> None:
    rng = np.random.default_rng(2024)
    n_cw, per_cw = 40, 25
    strata = np.repeat(np.arange(n_cw), per_cw)
    risk = rng.random(n_cw * per_cw)
    size = 1 + 3 * risk
    # cases with high risk are less often in order
    y_pop = (rng.random(n_cw * per_cw) < 0.95 - 0.25 * risk).astype(float)
    truth = y_pop.mean()
    n_by = {h: 3 for h in range(n_cw)}
    reps, covered = 800, 0
    for _ in range(reps):
        sel, pi = draw_stratified(strata, size, n_by, rng)
        e = estimate_proportion(y_pop[sel], pi[sel], strata[sel])
        covered += e.ci_low <= truth <= e.ci_high
    assert covered / reps >= 0.93


# ------------------------------------------------- branches found by mutation testing


def _clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    ci = sps.binomtest(successes, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def test_zero_variance_share_strictly_inside_gets_clopper_pearson() -> None:
    """0 < p̂ < 1 with v̂ = 0 (every stratum constant): the exact binomial interval."""
    y = [1, 1, 0, 0]
    e = estimate_proportion(y, [0.5] * 4, ["a", "a", "b", "b"])
    assert e.estimate == 0.5 and e.std_error == 0.0 and e.df == 2
    low, high = _clopper_pearson(2, 4)
    assert (e.ci_low, e.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert 0 < e.ci_low < 0.5 < e.ci_high < 1


def test_effective_se_of_zero_variance_shares_is_the_clopper_pearson_width() -> None:
    """0/5 against 5/5: each share has SE 0; the comparison uses the normal SE of an interval
    as wide as its Clopper–Pearson interval, ``width / (2 z_{0.975})``."""
    zero = estimate_proportion([0] * 5, [0.5] * 5, ["s"] * 5)
    one = estimate_proportion([1] * 5, [0.5] * 5, ["s"] * 5)
    assert zero.std_error == 0 and one.std_error == 0
    width = 1 - 0.025 ** (1 / 5)  # Clopper–Pearson upper bound at 0/5
    se_each = width / (2 * sps.norm.ppf(0.975))
    d = compare(zero, one)
    assert d.diff == 1.0
    assert d.std_error == pytest.approx(math.sqrt(2) * se_each, rel=1e-12)
    df = 8.0  # Welch–Satterthwaite with equal variances and df 4 + 4
    assert d.df == pytest.approx(df, rel=1e-12)
    half = sps.t.ppf(0.975, df) * math.sqrt(2) * se_each
    assert (d.ci_low, d.ci_high) == pytest.approx((1 - half, 1 + half), abs=1e-12)
    assert d.significant
    # One share of 0 against a share with ordinary variance: the 0 share still adds its
    # interval-implied variance, so its effective SE is not 0.
    other = _est(0.4, 0.1, 10)
    mixed = compare(zero, other)
    assert mixed.std_error == pytest.approx(math.sqrt(se_each**2 + 0.01), rel=1e-12)


def test_compare_two_exact_means_is_a_point_interval() -> None:
    """Both variances 0 and no interval width: the difference is known exactly."""
    a = estimate_mean([2.0, 2.0, 2.0], [0.5] * 3, [0, 0, 0])
    b = estimate_mean([3.0, 3.0, 3.0, 3.0], [0.5] * 4, [0, 0, 1, 1])
    assert a.std_error == 0 and b.std_error == 0 and (a.df, b.df) == (2, 2)
    d = compare(a, b)
    assert d.diff == 1.0 and d.std_error == 0.0
    assert d.df == 4.0
    assert d.ci_low == d.ci_high == 1.0
    assert d.significant is True
    same = compare(a, a)
    assert same.diff == 0.0 and same.significant is False


def test_compare_needs_positive_df_on_both_sides() -> None:
    ok = _est(0.5, 0.05, 1)
    assert math.isfinite(compare(ok, ok).std_error)
    for left, right in ((_est(0.5, 0.05, 0), ok), (ok, _est(0.5, 0.05, 0))):
        d = compare(left, right)
        assert math.isnan(d.std_error) and math.isnan(d.df) and math.isnan(d.ci_low)
        assert math.isnan(d.ci_high) and not d.significant
        assert d.diff == 0.0 and d.significant is False  # the difference itself is known
    for left, right in ((_est(0.5, float("inf"), 5), ok), (ok, _est(0.6, float("inf"), 5))):
        d = compare(left, right)
        assert math.isnan(d.std_error) and math.isnan(d.df) and math.isnan(d.ci_low)
        assert d.significant is False
    nan = compare(_est(float("nan"), 0.05, 5), ok)
    assert math.isnan(nan.std_error) and math.isnan(nan.ci_low) and nan.significant is False


def test_compare_equal_variances_unequal_df_uses_welch() -> None:
    a, b = _est(0.5, 0.05, 4), _est(0.6, 0.05, 20)
    d = compare(a, b)
    assert d.df == pytest.approx(4 / (1 / 4 + 1 / 20), rel=1e-12)  # not 4 + 20
    assert d.significant is False


def test_compare_level_sets_the_interval() -> None:
    a, b = _est(0.70, 0.05, 10), _est(0.85, 0.04, 25)
    wide, narrow = compare(a, b, level=0.99), compare(a, b, level=0.8)
    df = compare(a, b).df
    se = math.sqrt(0.05**2 + 0.04**2)
    assert wide.ci_high - wide.ci_low == pytest.approx(2 * sps.t.ppf(0.995, df) * se, rel=1e-12)
    assert narrow.ci_high - narrow.ci_low == pytest.approx(2 * sps.t.ppf(0.9, df) * se, rel=1e-12)
    with pytest.raises(ValueError, match="level"):
        compare(a, b, level=1.0)


def test_mean_of_an_empty_domain_is_nan() -> None:
    m = estimate_mean([1.0, 3.0], [0.5, 0.5], [0, 1], [False, False], level=0.9)
    assert (m.n, m.df, m.level) == (0, 0, 0.9)
    assert all(math.isnan(v) for v in (m.estimate, m.std_error, m.ci_low, m.ci_high))


def test_one_degree_of_freedom_gives_an_interval() -> None:
    """df = 1 is enough for a t interval (t_{0.975, 1} = 12.706)."""
    m = estimate_mean([1.0, 3.0], [0.5, 0.5], [0, 0])
    assert m.df == 1 and m.estimate == 2.0
    assert m.std_error == pytest.approx(1.0, rel=1e-12)  # s² = 2, s²/n = 1
    half = sps.t.ppf(0.975, 1)
    assert (m.ci_low, m.ci_high) == pytest.approx((2 - half, 2 + half), rel=1e-12)
    p = estimate_proportion([1.0, 0.0], [0.5, 0.5], [0, 0])
    assert p.df == 1 and 0 < p.ci_low < 0.5 < p.ci_high < 1


def test_numeric_zero_one_domain_is_a_mask() -> None:
    y, pi, strata = [1.0, 0.0, 1.0, 1.0], [0.5, 0.25, 0.5, 0.2], [0, 0, 1, 1]
    as_bool = estimate_proportion(y, pi, strata, [True, False, True, True])
    assert estimate_proportion(y, pi, strata, [1, 0, 1, 1]) == as_bool
    assert estimate_proportion(y, pi, strata, np.array([1.0, 0.0, 1.0, 1.0])) == as_bool
    assert estimate_mean(y, pi, strata, np.array([1, 0, 1, 1], dtype=np.uint8)) == estimate_mean(
        y, pi, strata, [True, False, True, True]
    )
    for bad in ([1, 0, 2, 1], [0.5, 0, 1, 1], ["a", "b", "c", "d"]):
        with pytest.raises(ValueError, match="boolean"):
            estimate_proportion(y, pi, strata, bad)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5])
def test_level_must_lie_strictly_between_0_and_1(level: float) -> None:
    with pytest.raises(ValueError, match="level"):
        estimate_proportion([0, 1], [0.5, 0.5], [0, 0], level=level)
    with pytest.raises(ValueError, match="level"):
        estimate_mean([0, 1], [0.5, 0.5], [0, 0], level=level)


@pytest.mark.parametrize("level", [1e-6, 0.5, 1 - 1e-6])
def test_levels_near_the_edges_are_accepted(level: float) -> None:
    m = estimate_mean([1.0, 3.0, 2.0], [0.5] * 3, [0, 0, 0], level=level)
    half = sps.t.ppf(1 - (1 - level) / 2, 2) * m.std_error
    assert m.level == level
    assert (m.ci_low, m.ci_high) == pytest.approx((2 - half, 2 + half), rel=1e-9)
