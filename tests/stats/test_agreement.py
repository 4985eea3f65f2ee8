"""Tests for tilsyn.stats.agreement.

Independent oracles:

* ``fixtures/agreement_reference.json`` — R's ``psych::cohen.kappa`` and Gwet's
  ``irrCAC::gwet.ac1.raw`` / ``pa.coeff.raw`` on 48 random 2×2 and 3×3 tables (script:
  ``r/make_agreement_reference.R``), plus what R returns for the degenerate cases;
* closed forms for small tables worked by hand;
* Hypothesis properties: symmetry, bounds, perfect agreement, invariance under
  relabelling and reordering.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tilsyn.stats.agreement import Agreement, cohen_kappa, gwet_ac1, percent_agreement

REFERENCE = json.loads(
    (Path(__file__).parent / "fixtures" / "agreement_reference.json").read_text()
)
CASES: list[dict[str, Any]] = REFERENCE["cases"]
DEGENERATE = {c["name"]: c for c in REFERENCE["degenerate"]}
TOL = 1e-9


def _close(value: float, expected: float | None) -> bool:
    assert expected is not None
    return abs(value - expected) <= TOL


def _check(result: Agreement, ref: dict[str, Any], case: dict[str, Any]) -> None:
    assert result.n == case["n"]
    assert result.level == case["level"]
    assert _close(result.estimate, ref["estimate"]), (result.estimate, ref["estimate"])
    assert _close(result.std_error, ref["std_error"]), (result.std_error, ref["std_error"])
    assert _close(result.ci_low, ref["ci_low"]), (result.ci_low, ref["ci_low"])
    assert _close(result.ci_high, ref["ci_high"]), (result.ci_high, ref["ci_high"])


def test_reference_covers_both_table_sizes() -> None:
    sizes = [len(c["categories"]) for c in CASES]
    assert sizes.count(2) >= 20
    assert sizes.count(3) >= 20
    assert len(CASES) >= 40
    # some 3x3 tables leave a category unused, so that ac1 and ac1_scale differ
    assert any(len(set(c["a"]) | set(c["b"])) < len(c["categories"]) for c in CASES)
    # the interval clipping of both coefficients is exercised
    assert any(c["kappa"]["ci_high"] == 1.0 for c in CASES)
    assert any(c["ac1"]["ci_high"] == 1.0 for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_kappa_matches_psych(case: dict[str, Any]) -> None:
    _check(cohen_kappa(case["a"], case["b"], level=case["level"]), case["kappa"], case)
    # κ does not depend on unused categories of the scale
    full = cohen_kappa(case["a"], case["b"], case["level"], categories=case["categories"])
    _check(full, case["kappa"], case)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_ac1_matches_irrcac(case: dict[str, Any]) -> None:
    _check(gwet_ac1(case["a"], case["b"], level=case["level"]), case["ac1"], case)
    scale = gwet_ac1(case["a"], case["b"], case["level"], categories=case["categories"])
    _check(scale, case["ac1_scale"], case)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_percent_agreement_matches_irrcac(case: dict[str, Any]) -> None:
    ref = dict(case["percent_agreement"])
    ref["ci_low"] = max(0.0, ref["ci_low"])  # documented: we clip the lower end at 0
    _check(percent_agreement(case["a"], case["b"], level=case["level"]), ref, case)


# ----------------------------------------------------------------- degenerate cases


def test_one_category() -> None:
    case = DEGENERATE["one_category"]
    a, b = case["a"], case["b"]
    assert set(a) == set(b) == {"A"}
    # psych: kappa NA (p_c = 1); we return NaN throughout
    assert case["kappa"]["estimate"] is None
    k = cohen_kappa(a, b)
    assert math.isnan(k.estimate) and math.isnan(k.std_error)
    assert math.isnan(k.ci_low) and math.isnan(k.ci_high)
    assert k.n == 5
    # irrCAC: AC1 = 1 with a NaN variance; we take the limit (SE 0, interval [1, 1])
    assert case["ac1"]["estimate"] == 1.0
    assert case["ac1"]["std_error"] is None
    assert gwet_ac1(a, b) == Agreement(1.0, 0.0, 1.0, 1.0, 5, 0.95)
    # with the full scale named, irrCAC's general formula applies and agrees
    _check(gwet_ac1(a, b, categories=["A", "B"]), case["ac1_scale"], case)
    assert gwet_ac1(a, b, categories=["A", "B"]) == Agreement(1.0, 0.0, 1.0, 1.0, 5, 0.95)
    assert percent_agreement(a, b) == Agreement(1.0, 0.0, 1.0, 1.0, 5, 0.95)


@pytest.mark.parametrize("name", ["single_disagreement", "single_agreement"])
def test_single_case(name: str) -> None:
    case = DEGENERATE[name]
    a, b = case["a"], case["b"]
    for fn, ref in ((cohen_kappa, case["kappa"]), (gwet_ac1, case["ac1"])):
        r = fn(a, b)
        assert r.n == 1
        assert math.isnan(r.std_error) and math.isnan(r.ci_low) and math.isnan(r.ci_high)
        if ref["estimate"] is None:
            assert math.isnan(r.estimate)
        else:
            assert r.estimate == pytest.approx(ref["estimate"], abs=TOL)
    # irrCAC gives no variance for one case; psych gives 0, which we do not copy
    assert case["ac1"]["std_error"] is None
    pa = percent_agreement(a, b)
    assert pa.estimate == (1.0 if name == "single_agreement" else 0.0)
    assert math.isnan(pa.std_error)


def test_single_disagreement_kappa_is_zero() -> None:
    case = DEGENERATE["single_disagreement"]
    assert case["kappa"]["estimate"] == 0.0
    assert cohen_kappa(["A"], ["B"]).estimate == 0.0


def test_perfect_agreement_over_two_categories() -> None:
    case = DEGENERATE["perfect_two_categories"]
    a, b = case["a"], case["b"]
    for fn, ref in ((cohen_kappa, case["kappa"]), (gwet_ac1, case["ac1"])):
        r = fn(a, b)
        assert r == Agreement(1.0, 0.0, 1.0, 1.0, 7, 0.95)
        assert ref["estimate"] == pytest.approx(1.0, abs=TOL)
        assert ref["std_error"] == pytest.approx(0.0, abs=1e-7)


def test_empty() -> None:
    for fn in (cohen_kappa, gwet_ac1, percent_agreement):
        r = fn([], [])
        assert r.n == 0
        assert all(math.isnan(x) for x in (r.estimate, r.std_error, r.ci_low, r.ci_high))


# ------------------------------------------------------------------------- by hand


def test_kappa_by_hand() -> None:
    # table [[20, 5], [10, 15]]: p_o = 0.7, p_c = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4
    a = ["j"] * 25 + ["n"] * 25
    b = ["j"] * 20 + ["n"] * 5 + ["j"] * 10 + ["n"] * 15
    k = cohen_kappa(a, b)
    assert k.estimate == pytest.approx(0.4, abs=1e-15)
    # Fleiss–Cohen–Everitt by hand: p11 = .4, p22 = .3, p12 = .1, p21 = .2;
    # rows .5 .5, columns .6 .4
    t1 = 0.4 * (0.5 - 1.1 * 0.3) ** 2 + 0.3 * (0.5 - 0.9 * 0.3) ** 2
    # off-diagonal p_kl weighted by (p_.k + p_l.)²: p12 → .6 + .5, p21 → .4 + .5
    t2 = 0.09 * (0.1 * (0.6 + 0.5) ** 2 + 0.2 * (0.4 + 0.5) ** 2)
    t3 = (0.35 - 1.0 + 0.7) ** 2
    se = math.sqrt((t1 + t2 - t3) / (50 * 0.5**4))
    assert k.std_error == pytest.approx(se, rel=1e-12)
    assert k.ci_low == pytest.approx(0.4 - 1.959963984540054 * se, rel=1e-12)


def test_ac1_by_hand() -> None:
    # same table: π_j = (25 + 30)/100 = .55, p_e = 2·.55·.45 = .495, p_a = .7
    a = ["j"] * 25 + ["n"] * 25
    b = ["j"] * 20 + ["n"] * 5 + ["j"] * 10 + ["n"] * 15
    r = gwet_ac1(a, b)
    assert r.estimate == pytest.approx((0.7 - 0.495) / 0.505, abs=1e-15)
    # with a third, unused category: p_e = (.2475 + .2475 + 0)/2
    r3 = gwet_ac1(a, b, categories=["j", "n", "x"])
    assert r3.estimate == pytest.approx((0.7 - 0.2475) / 0.7525, abs=1e-15)


# ----------------------------------------------------------------------- validation


@pytest.mark.parametrize("fn", [cohen_kappa, gwet_ac1, percent_agreement])
def test_invalid_input(fn: Any) -> None:
    with pytest.raises(ValueError, match="same length"):
        fn(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="missing answer"):
        fn(["a", None], ["a", "b"])
    with pytest.raises(ValueError, match="not a category"):
        fn(["a", "c"], ["a", "b"], categories=["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        fn(["a"], ["a"], categories=["a", "a"])
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="level"):
            fn(["a", "b"], ["a", "b"], level=level)


# ----------------------------------------------------------------------- properties

labels = st.sampled_from(["i orden", "ikke i orden", "delvist"])
pairs = st.lists(st.tuples(labels, labels), min_size=2, max_size=60)


def _split(p: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [x for x, _ in p], [y for _, y in p]


def _same(r: Agreement, s: Agreement) -> bool:
    def eq(x: float, y: float) -> bool:
        # 1e-8, not 1e-12: a standard error is the square root of a variance that round-off
        # leaves at ~1e-17 instead of 0, i.e. ~3e-9 (found by hypothesis for kappa = 0).
        return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-8

    return r.n == s.n and all(
        eq(x, y)
        for x, y in zip(
            (r.estimate, r.std_error, r.ci_low, r.ci_high),
            (s.estimate, s.std_error, s.ci_low, s.ci_high),
            strict=True,
        )
    )


@settings(max_examples=150, deadline=None)
@given(pairs)
@example(
    [("i orden", "ikke i orden"), ("ikke i orden", "ikke i orden")]
    + [("delvist", "ikke i orden")] * 4
)
def test_symmetric_in_the_reviewers(p: list[tuple[str, str]]) -> None:
    a, b = _split(p)
    for fn in (cohen_kappa, gwet_ac1, percent_agreement):
        assert _same(fn(a, b), fn(b, a))


def test_kappa_of_a_reviewer_who_always_answers_the_same_has_zero_standard_error() -> None:
    # Each variance term is O(1) here and they cancel exactly (p_o = p_c for every case);
    # round-off used to leave a standard error of 6.5e-9 that changed under relabelling.
    a = ["i orden", "i orden", "ikke i orden", "delvist", "ikke i orden"]
    b = ["ikke i orden"] * 5
    for x in (a, [3, 3, "x", (1, 2), "x"]):
        r = cohen_kappa(x, b if x is a else ["x"] * 5)
        assert (r.estimate, r.std_error, r.ci_low, r.ci_high) == (0.0, 0.0, 0.0, 0.0)


@settings(max_examples=150, deadline=None)
@given(pairs, st.randoms(use_true_random=False))
def test_invariant_under_case_order_and_relabelling(p: list[tuple[str, str]], rnd: Any) -> None:
    a, b = _split(p)
    order = list(range(len(a)))
    rnd.shuffle(order)
    rename = {"i orden": 3, "ikke i orden": "x", "delvist": (1, 2)}
    a2 = [rename[a[i]] for i in order]
    b2 = [rename[b[i]] for i in order]
    for fn in (cohen_kappa, gwet_ac1, percent_agreement):
        assert _same(fn(a, b), fn(a2, b2))


@settings(max_examples=200, deadline=None)
@given(pairs, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_bounds(p: list[tuple[str, str]], level: float) -> None:
    a, b = _split(p)
    k = cohen_kappa(a, b, level)
    if len(set(a) | set(b)) == 1:
        assert math.isnan(k.estimate)
    else:
        assert -1.0 <= k.estimate <= 1.0
        assert -1.0 <= k.ci_low <= k.estimate <= k.ci_high <= 1.0
        assert k.std_error >= 0.0
    g = gwet_ac1(a, b, level)
    assert -1.0 <= g.estimate <= 1.0
    assert g.ci_low <= g.estimate <= g.ci_high <= 1.0
    assert g.std_error >= 0.0
    pa = percent_agreement(a, b, level)
    assert 0.0 <= pa.ci_low <= pa.estimate <= pa.ci_high <= 1.0
    # a wider level never gives a narrower interval
    for fn in (cohen_kappa, gwet_ac1, percent_agreement):
        lo, hi = fn(a, b, 0.5), fn(a, b, 0.99)
        if not math.isnan(lo.ci_low):
            assert hi.ci_low <= lo.ci_low + 1e-12 and lo.ci_high <= hi.ci_high + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.lists(labels, min_size=2, max_size=60))
def test_perfect_agreement(a: list[str]) -> None:
    k, g = cohen_kappa(a, a), gwet_ac1(a, a)
    assert g == Agreement(1.0, 0.0, 1.0, 1.0, len(a), 0.95)
    assert percent_agreement(a, a) == Agreement(1.0, 0.0, 1.0, 1.0, len(a), 0.95)
    if len(set(a)) >= 2:
        assert k == Agreement(1.0, 0.0, 1.0, 1.0, len(a), 0.95)
    else:
        assert math.isnan(k.estimate)


@settings(max_examples=100, deadline=None)
@given(pairs)
def test_kappa_ac1_and_agreement_move_together(p: list[tuple[str, str]]) -> None:
    # κ and AC1 are below the percent agreement (chance agreement is subtracted),
    # and equal 1 exactly when every pair agrees
    a, b = _split(p)
    pa = percent_agreement(a, b).estimate
    g = gwet_ac1(a, b).estimate
    assert g <= pa + 1e-12
    k = cohen_kappa(a, b).estimate
    if not math.isnan(k):
        assert k <= pa + 1e-12
        assert (k == 1.0) == (pa == 1.0)
    assert (g == 1.0) == (pa == 1.0)
