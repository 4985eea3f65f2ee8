"""Tests for tilsyn.stats.sampling.

Oracles used here are written independently of the implementation:

* capping: a plain-Python iterative capping loop (``_oracle_capped``);
* design: exact enumeration of randomised systematic πps (all orders × the exact
  partition of the random start into the intervals on which the sample is constant),
  in exact rational arithmetic (``_oracle_design``);
* the implementation's random draws are compared with the exact enumeration by a
  chi-square test on the joint distribution of samples.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from tilsyn.stats.sampling import (
    ALGORITHM,
    ALGORITHM_VERSION,
    draw_stratified,
    inclusion_probabilities,
)

# --------------------------------------------------------------------------- oracles


def _oracle_capped(sizes: list[float], n: int) -> list[float]:
    """Capped πps by the textbook iteration, plain Python, exact rationals."""
    xs = [Fraction(s) for s in sizes]
    certain: set[int] = set()
    while True:
        rest = [i for i in range(len(xs)) if i not in certain]
        total = sum((xs[i] for i in rest), Fraction(0))
        left = n - len(certain)
        pis = {i: (left * xs[i] / total if total > 0 else Fraction(0)) for i in rest}
        over = {i for i, p in pis.items() if p >= 1}
        if not over:
            break
        certain |= over
    return [1.0 if i in certain else float(pis[i]) for i in range(len(xs))]


def _oracle_design(pi: list[float]) -> dict[frozenset[int], Fraction]:
    """Exact distribution of samples of randomised systematic πps.

    For every ordering of the units, the cumulative boundaries ``b_0 = 0 < … < b_N = n``
    are laid out; unit ``k`` is selected iff some point ``u + m`` (``m`` integer) lies
    in ``[b_{k-1}, b_k)``.  The selection is constant in ``u`` between consecutive
    fractional parts of the boundaries, so evaluating at the midpoint of each such piece
    and weighting by its length gives the exact distribution.
    """
    fr = [Fraction(p) for p in pi]
    n = round(sum(fr, Fraction(0)))
    # remove float round-off: certainty units keep exactly 1, the others sum exactly
    # to the number of remaining draws
    n_cert = sum(1 for p in fr if p == 1)
    free_total = sum((p for p in fr if p < 1), Fraction(0))
    if free_total > 0:
        fr = [p if p == 1 else p * (n - n_cert) / free_total for p in fr]
    units = range(len(fr))
    perms = list(itertools.permutations(units))
    dist: dict[frozenset[int], Fraction] = {}
    for order in perms:
        bounds = [Fraction(0)]
        for k in order:
            bounds.append(bounds[-1] + fr[k])
        cuts = sorted({b - math.floor(b) for b in bounds} | {Fraction(0), Fraction(1)})
        for a, c in itertools.pairwise(cuts):
            if c == a:
                continue
            t = (a + c) / 2
            chosen = set()
            for pos, k in enumerate(order):
                lo, hi = bounds[pos], bounds[pos + 1]
                # smallest point t + m >= lo
                m = math.ceil(lo - t)
                if t + m < hi:
                    chosen.add(k)
            key = frozenset(chosen)
            dist[key] = dist.get(key, Fraction(0)) + (c - a) / len(perms)
    return dist


# --------------------------------------------------------------- inclusion_probabilities


def test_algorithm_constants() -> None:
    assert ALGORITHM == "systematic-pps-random-order"
    assert ALGORITHM_VERSION == "1"


@pytest.mark.parametrize(
    ("sizes", "n", "expected"),
    [
        ([10, 1, 1, 1, 1], 2, [1, 0.25, 0.25, 0.25, 0.25]),
        ([1, 1, 1, 1], 2, [0.5, 0.5, 0.5, 0.5]),
        ([1, 2, 3, 4], 1, [0.1, 0.2, 0.3, 0.4]),
        ([1, 2, 3, 4], 2, [0.2, 0.4, 0.6, 0.8]),
        # cascade: 16 capped first (3·16/31 > 1), then 8 (2·8/15 > 1), then 1·4/7
        ([1, 2, 4, 8, 16], 3, [1 / 7, 2 / 7, 4 / 7, 1, 1]),
        # exactly 1 without capping: 2·2/4 = 1
        ([2, 1, 1], 2, [1, 0.5, 0.5]),
        ([3, 1, 1], 3, [1, 1, 1]),
        ([3, 1, 1], 0, [0, 0, 0]),
        ([5.0], 1, [1.0]),
        ([], 0, []),
    ],
)
def test_inclusion_probabilities_hand_worked(
    sizes: list[float], n: int, expected: list[float]
) -> None:
    got = inclusion_probabilities(sizes, n)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("sizes", "n", "match"),
    [
        ([1, 0, 1], 1, r"^size must contain only positive, finite numbers$"),
        ([1, -1, 1], 1, r"^size must contain only positive, finite numbers$"),
        ([1, float("nan")], 1, r"^size must contain only positive, finite numbers$"),
        ([1, float("inf")], 1, r"^size must contain only positive, finite numbers$"),
        ([[1, 2]], 1, r"^size must be one-dimensional, got shape \(1, 2\)$"),
        ([1, 2], 3, r"^n = 3 exceeds the number of units \(2\)$"),
        ([1, 2], -1, r"^n must be a non-negative integer, got -1$"),
        ([1, 2], 1.5, r"^n must be a non-negative integer, got 1.5$"),
        ([1, 2], True, r"^n must be a non-negative integer, got True$"),
        ([1, 2], "1", r"^n must be a non-negative integer, got '1'$"),
        (["a", "b"], 1, r"^size must be an array of positive finite numbers$"),
        ([1, {}], 1, r"^size must be an array of positive finite numbers$"),
    ],
)
def test_inclusion_probabilities_rejects_bad_input(sizes: object, n: object, match: str) -> None:
    """Bad input raises ValueError saying what is wrong (the whole message is checked)."""
    with pytest.raises(ValueError, match=match):
        inclusion_probabilities(sizes, n)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [2, np.int64(2), np.uint8(2), 2.0, np.float64(2.0)])
def test_sample_sizes_may_be_any_integer_valued_number(n: object) -> None:
    expected = [0.4, 0.4, 1.0, 0.2]
    np.testing.assert_allclose(inclusion_probabilities([2, 2, 9, 1], n), expected, atol=1e-15)
    sel, pi = draw_stratified(["a"] * 4, [2, 2, 9, 1], {"a": n}, np.random.default_rng(0))
    np.testing.assert_allclose(pi, expected, atol=1e-15)
    assert len(sel) == 2 and 2 in sel.tolist()


size_lists = st.lists(
    st.floats(min_value=0.01, max_value=1000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(sizes=size_lists, data=st.data())
def test_inclusion_probabilities_properties(sizes: list[float], data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=len(sizes)))
    pi = inclusion_probabilities(sizes, n)
    x = np.asarray(sizes)
    assert pi.shape == x.shape
    assert np.all(pi >= 0) and np.all(pi <= 1)
    assert abs(pi.sum() - n) <= 1e-9 * max(n, 1)
    # monotone in size
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(pi[order]) >= -1e-12)
    # capped (certainty) units are the largest
    capped = pi == 1.0
    if capped.any() and (~capped).any():
        assert x[capped].min() >= x[~capped].max()
    # proportional to size among the non-capped units
    free = ~capped
    if n > 0 and free.sum() >= 2:
        ratio = pi[free] / x[free]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    # independent oracle; 1e-8 covers the documented certainty tolerance (1e-9)
    np.testing.assert_allclose(pi, _oracle_capped(sizes, n), rtol=0, atol=1e-8)


@settings(max_examples=50, deadline=None)
@given(
    big_n=st.integers(min_value=1, max_value=50),
    value=st.floats(min_value=0.01, max_value=100),
    data=st.data(),
)
def test_equal_sizes_give_srs(big_n: int, value: float, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=big_n))
    pi = inclusion_probabilities([value] * big_n, n)
    np.testing.assert_allclose(pi, n / big_n, rtol=1e-12, atol=0)


# ------------------------------------------------------------------ brute-force design

DESIGN_CASES = [
    ([1, 1, 1, 1, 1], 2),
    ([1, 2, 3, 4], 2),
    ([5, 1, 2, 3, 1, 2], 3),
    ([10, 1, 1, 1, 1], 2),  # one certainty unit, one systematic draw left
    ([10, 9, 1, 1, 1, 1], 3),  # two certainty units
    ([1.3, 2.7, 0.4, 5.1, 2.2], 2),
    ([1.3, 2.7, 0.4, 5.1, 2.2, 3.3], 4),
    ([1, 2, 3], 1),
    ([2, 1, 1], 2),  # π = 1 reached exactly without capping
    ([4, 4, 1, 1, 1, 1], 4),
]


def _second_order(dist: dict[frozenset[int], Fraction], i: int, j: int) -> Fraction:
    return sum((p for s, p in dist.items() if i in s and j in s), Fraction(0))


@pytest.mark.parametrize(("sizes", "n"), DESIGN_CASES)
def test_randomised_systematic_exact_design(sizes: list[float], n: int) -> None:
    """Exact enumeration: fixed size n, first-order π exact, certainty units always in.

    For these designs every pair of non-certainty units also has ``π_ij > 0`` when at
    least two non-certainty units are drawn.  That is a property of these cases, not of
    the design: see ``test_second_order_probability_can_be_zero``.  When only one
    non-certainty unit is drawn, ``π_ij = 0`` for non-certainty pairs — unavoidable for
    any fixed-size design, since such a pair can never be in the same sample.
    """
    pi = inclusion_probabilities(sizes, n)
    dist = _oracle_design(pi.tolist())
    assert sum(dist.values()) == 1
    assert dist
    assert all(len(s) == n for s in dist)  # fixed sample size, no duplicates possible
    big_n = len(sizes)
    first = [sum((p for s, p in dist.items() if i in s), Fraction(0)) for i in range(big_n)]
    np.testing.assert_allclose([float(f) for f in first], pi, rtol=0, atol=1e-12)
    free = [i for i in range(big_n) if 0 < pi[i] < 1]
    n_free = n - int(np.sum(pi == 1.0))
    for i, j in itertools.combinations(free, 2):
        pij = _second_order(dist, i, j)
        if n_free >= 2:
            assert pij > 0, (i, j)
        else:
            assert pij == 0
    # certainty units are in every sample
    for i in range(big_n):
        if pi[i] == 1.0:
            assert all(i in s for s in dist)


def test_second_order_probability_can_be_zero() -> None:
    """Counterexample to "π_ij > 0 whenever two non-certainty units are drawn".

    Sizes [1, 1, 2, 2, 2], n = 2: π = (¼, ¼, ½, ½, ½), no certainty unit, two systematic
    draws.  In every order the start of unit 1's interval lies ¼ + (a sum of halves) from
    the start of unit 0's, i.e. ¼ or ¾ modulo 1, so the two quarter-length intervals are
    never both hit: π_01 = 0 exactly.  First-order π stay exact (the estimators rely only
    on them; the variance is estimated by with-replacement linearisation, no π_ij).
    """
    sizes = [1, 1, 2, 2, 2]
    pi = inclusion_probabilities(sizes, 2)
    np.testing.assert_array_equal(pi, [0.25, 0.25, 0.5, 0.5, 0.5])
    dist = _oracle_design(pi.tolist())
    assert sum(dist.values()) == 1
    first = [sum((p for s, p in dist.items() if i in s), Fraction(0)) for i in range(5)]
    assert first == [Fraction(1, 4), Fraction(1, 4), Fraction(1, 2), Fraction(1, 2), Fraction(1, 2)]
    assert _second_order(dist, 0, 1) == 0
    assert frozenset({0, 1}) not in dist
    # every other pair can occur together
    for i, j in itertools.combinations(range(5), 2):
        if (i, j) != (0, 1):
            assert _second_order(dist, i, j) > 0, (i, j)
    # the implementation agrees: units 0 and 1 are never drawn together
    rng = np.random.default_rng(4)
    strata = np.zeros(5, dtype=np.int64)
    together = 0
    for _ in range(2000):
        sel, _pi = draw_stratified(strata, sizes, {0: 2}, rng)
        together += {0, 1} <= set(sel.tolist())
    assert together == 0


@pytest.mark.parametrize("big_n", [4, 5, 6])
def test_equal_sizes_give_positive_second_order_probabilities(big_n: int) -> None:
    """With λ = 0 (equal sizes) every pair can be drawn together once n ≥ 2."""
    for n in range(2, big_n):
        dist = _oracle_design(inclusion_probabilities([1.0] * big_n, n).tolist())
        for i, j in itertools.combinations(range(big_n), 2):
            assert _second_order(dist, i, j) > 0, (n, i, j)


# --------------------------------------------------------------------- draw_stratified


def _population() -> tuple[np.ndarray, np.ndarray, dict[object, int]]:
    strata = np.array(["a"] * 7 + ["b"] * 5 + ["c"] * 2 + ["d"] * 4 + ["e"] * 3)
    size = np.array(
        [
            *[1, 1, 2, 3, 5, 8, 1],  # a
            *[1, 1, 1, 1, 1],  # b (srs)
            *[2, 3],  # c (smaller than n)
            *[1, 6, 1, 1],  # d (certainty)
            *[1, 2, 3],  # e (not in mapping)
        ],
        dtype=float,
    )
    n_by = {"a": 3, "b": 2, "c": 4, "d": 2, "zz": 5}
    return strata, size, n_by


def test_pi_returned_matches_independent_capping() -> None:
    strata, size, n_by = _population()
    _sel, pi = draw_stratified(strata, size, n_by, np.random.default_rng(1))
    for label in np.unique(strata):
        mask = strata == label
        want = min(n_by.get(str(label), 0), int(mask.sum()))
        np.testing.assert_allclose(
            pi[mask], _oracle_capped(size[mask].tolist(), want), rtol=0, atol=1e-15
        )


@pytest.mark.slow
def test_simulation_inclusion_frequencies() -> None:
    strata, size, n_by = _population()
    rng = np.random.default_rng(12345)
    reps = 10_000
    hits = np.zeros(size.shape[0])
    expected_n = {"a": 3, "b": 2, "c": 2, "d": 2, "e": 0}
    pi_first = None
    for _ in range(reps):
        sel, pi = draw_stratified(strata, size, n_by, rng)
        if pi_first is None:
            pi_first = pi
        assert np.all(np.diff(sel) > 0)  # sorted, no duplicates
        got = Counter(strata[sel].tolist())
        assert {k: got.get(k, 0) for k in expected_n} == expected_n
        hits[sel] += 1
    assert pi_first is not None
    freq = hits / reps
    tol = 4.5 * np.sqrt(pi_first * (1 - pi_first) / reps)
    assert np.all(np.abs(freq - pi_first) <= tol + 1e-12)


def test_reproducible_and_seed_dependent() -> None:
    rng0 = np.random.default_rng(7)
    strata = rng0.integers(0, 50, 2000)
    size = 1 + 2 * rng0.random(2000)
    n_by = {h: 2 for h in range(50)}
    a = draw_stratified(strata, size, n_by, np.random.default_rng(99))
    b = draw_stratified(strata, size, n_by, np.random.default_rng(99))
    c = draw_stratified(strata, size, n_by, np.random.default_rng(100))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(a[1], c[1])  # π does not depend on the draw


def test_recorded_draws_replay_identically() -> None:
    """The replay contract: a draw recorded under ``ALGORITHM_VERSION = "1"`` is verified by
    drawing again from its seed, so the same inputs and seed must give these very samples in
    every later release (written down from version 1). A change to the selection (order keys,
    starts, layout) must come with a new ``ALGORITHM_VERSION``, not break old records."""
    assert ALGORITHM_VERSION == "1"
    rng0 = np.random.default_rng(1)
    strata = rng0.integers(0, 12, 200)
    size = 1 + 3 * rng0.random(200)
    n_by = {h: (3 if h % 3 else 1) for h in range(12)}
    sel, _pi = draw_stratified(strata, size, n_by, np.random.Generator(np.random.PCG64(20261202)))
    assert sel.tolist() == [
        *(4, 7, 20, 26, 32, 35, 44, 47, 50, 53, 62, 69, 88, 92, 108, 113, 125, 133),
        *(137, 149, 153, 163, 164, 166, 167, 176, 191, 193),
    ]
    labels = [("ann", "syg"), ("ann", "flex"), ("bo", "syg")] * 4
    n_cells = {("ann", "syg"): 2, ("ann", "flex"): 1, ("bo", "syg"): 3}
    sizes = list(range(1, 13))
    sel, _pi = draw_stratified(labels, sizes, n_cells, np.random.Generator(np.random.PCG64(7)))
    assert sel.tolist() == [5, 6, 8, 9, 10, 11]


def test_accepts_sequences_and_tuple_labels() -> None:
    strata = [("ann", "A"), ("ann", "B"), ("ann", "A"), ("bo", "A"), ("ann", "A")]
    sel, pi = draw_stratified(strata, [1, 1, 1, 1, 1], {("ann", "A"): 2}, np.random.default_rng(0))
    np.testing.assert_allclose(pi, [2 / 3, 0, 2 / 3, 0, 2 / 3])
    assert len(sel) == 2 and set(sel.tolist()) <= {0, 2, 4}
    assert sel.dtype == np.int64


def test_empty_population() -> None:
    sel, pi = draw_stratified([], [], {}, np.random.default_rng(0))
    assert sel.shape == (0,) and pi.shape == (0,)
    assert sel.dtype == np.int64 and pi.dtype == np.float64


def test_empty_draw_consumes_no_randomness() -> None:
    """Replay promise: a draw takes random numbers for its units and strata only, so an empty
    population leaves the generator where it was and the next draw is unaffected."""
    rng = np.random.default_rng(42)
    before = rng.bit_generator.state
    draw_stratified([], [], {"a": 3}, rng)
    assert rng.bit_generator.state == before
    strata, size, n_by = _population()
    after_empty = draw_stratified(strata, size, n_by, rng)[0]
    fresh = draw_stratified(strata, size, n_by, np.random.default_rng(42))[0]
    np.testing.assert_array_equal(after_empty, fresh)


def test_knife_edge_certainty_units_get_exactly_one() -> None:
    """A π that is exactly 1 in exact arithmetic but computes a hair below it (2·0.3/0.6 in
    floating point) is a certainty unit: π exactly 1 and always drawn."""
    sizes = [0.3, 0.1, 0.2]
    assert 2 / (0.3 + 0.1 + 0.2) * 0.3 < 1.0  # the round-off this guards against
    pi = inclusion_probabilities(sizes, 2)
    assert pi[0] == 1.0
    np.testing.assert_allclose(pi[1:], [1 / 3, 2 / 3], rtol=0, atol=1e-15)
    rng = np.random.default_rng(3)
    for _ in range(200):
        sel, pi_d = draw_stratified([0, 0, 0], sizes, {0: 2}, rng)
        assert pi_d[0] == 1.0 and len(sel) == 2 and sel[0] == 0


def test_nearly_certain_units_are_not_rounded_up() -> None:
    """A π clearly below 1 (1 − 10⁻⁶) keeps its value: only round-off is absorbed."""
    pi = inclusion_probabilities([999_999.0, 1.0], 1)
    assert pi[0] == pytest.approx(1 - 1e-6, abs=1e-15) and pi[0] < 1.0
    assert pi[1] == pytest.approx(1e-6, abs=1e-15)
    pi = inclusion_probabilities([1.0, 1.0, 1e9 - 1.0], 1)
    assert 1.0 - 1e-8 < pi[2] < 1.0 - 1e-10


@pytest.mark.parametrize(
    ("strata", "size", "n_by", "match"),
    [
        ([1, 2], [1.0], {1: 1}, r"^strata and size must have the same length \(2 != 1\)$"),
        ([1, 2], [1.0, 0.0], {1: 1}, r"^size must contain only positive, finite numbers$"),
        ([1, 2], [1.0, 1.0], {1: -1}, r"^n for stratum 1 must be a non-negative integer, got -1$"),
        (
            [1, 2],
            [1.0, 1.0],
            {1: 0.5},
            r"^n for stratum 1 must be a non-negative integer, got 0.5$",
        ),
        (
            ["a"],
            [1.0],
            {"a": True},
            r"^n for stratum 'a' must be a non-negative integer, got True$",
        ),
        (
            [1, 2],
            [1.0, 1.0],
            [(1, 1)],
            r"^n_by_stratum must be a mapping from stratum label to sample size$",
        ),
    ],
)
def test_draw_rejects_bad_input(strata: object, size: object, n_by: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        draw_stratified(strata, size, n_by, np.random.default_rng(0))  # type: ignore[arg-type]


@settings(max_examples=120, deadline=None)
@given(
    labels=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=80),
    data=st.data(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    equal=st.booleans(),
)
def test_draw_properties(labels: list[int], data: st.DataObject, seed: int, equal: bool) -> None:
    big_n = len(labels)
    if equal:
        size = [1.0] * big_n
    else:
        size = data.draw(
            st.lists(st.floats(min_value=0.01, max_value=100), min_size=big_n, max_size=big_n)
        )
    n_by = data.draw(
        st.dictionaries(st.integers(min_value=0, max_value=8), st.integers(0, 9), max_size=9)
    )
    strata = np.asarray(labels)
    sel, pi = draw_stratified(strata, size, n_by, np.random.default_rng(seed))
    assert sel.dtype == np.int64 and pi.dtype == np.float64 and pi.shape == (big_n,)
    assert np.all(np.diff(sel) > 0)
    assert np.all((pi >= 0) & (pi <= 1))
    for label in set(labels):
        mask = strata == label
        want = min(n_by.get(label, 0), int(mask.sum()))
        assert int(mask[sel].sum()) == want
        assert abs(pi[mask].sum() - want) <= 1e-9 * max(want, 1)
        assert np.all(pi[sel] > 0)
        assert np.all(np.isin(np.flatnonzero(mask & (pi == 1.0)), sel))  # certainty units
        if equal:
            np.testing.assert_allclose(pi[mask], want / mask.sum(), rtol=1e-12)


@pytest.mark.slow
def test_naive_successive_weighted_draws_do_not_give_pi() -> None:
    """Why numpy's ``choice(p=…, replace=False)`` is not acceptable.

    Sizes [3, 1, 1, 1, 1], n = 2: the πps target is π_0 = 2·3/7 = 6/7.  Successive
    weighted draws take unit 0 first with probability 3/7, else (4/7) second with
    probability 3/6, so P(0 in sample) = 3/7 + 4/7·1/2 = 5/7 ≠ 6/7.
    """
    sizes = np.array([3.0, 1, 1, 1, 1])
    pi = inclusion_probabilities(sizes, 2)
    assert pi[0] == pytest.approx(6 / 7, abs=1e-15)
    rng = np.random.default_rng(3)
    reps = 5_000
    naive = sum(
        0 in rng.choice(5, size=2, replace=False, p=sizes / sizes.sum()) for _ in range(reps)
    )
    strata = np.zeros(5, dtype=np.int64)
    ours = sum(0 in draw_stratified(strata, sizes, {0: 2}, rng)[0] for _ in range(reps))
    se = math.sqrt((5 / 7) * (2 / 7) / reps)
    assert abs(naive / reps - 5 / 7) < 4.5 * se
    assert abs(naive / reps - 6 / 7) > 10 * se
    assert abs(ours / reps - 6 / 7) < 4.5 * math.sqrt((6 / 7) * (1 / 7) / reps)


@pytest.mark.slow
def test_large_draw_is_exact() -> None:
    """Production scale: exact sample sizes and π sums (speed is measured in make bench)."""
    rng = np.random.default_rng(5)
    big_n, n_strata = 1_000_000, 10_000
    strata = rng.integers(0, n_strata, big_n)
    size = 1 + 4 * rng.random(big_n)
    n_by = {h: (4 if h % 10 == 0 else 2) for h in range(n_strata)}
    sel, pi = draw_stratified(strata, size, n_by, rng)
    per = np.bincount(strata[sel], minlength=n_strata)
    have = np.bincount(strata, minlength=n_strata)
    want = np.minimum([n_by[h] for h in range(n_strata)], have)
    np.testing.assert_array_equal(per, want)
    np.testing.assert_allclose(np.bincount(strata, weights=pi, minlength=n_strata), want)
    assert np.all(np.diff(sel) > 0)


# ------------------------------------ simulations against the exact design (slowest last)


@pytest.mark.parametrize(
    ("sizes", "n"),
    [
        ([1.3, 2.7, 0.4, 5.1, 2.2], 2),
        ([3, 1, 1, 1], 2),
        ([1, 3, 6], 1),  # one draw, unequal sizes: π = (.1, .3, .6)
        ([10, 1, 3, 6], 2),  # one certainty unit and one systematic draw
    ],
)
def test_draws_follow_exact_joint_distribution(sizes: list[float], n: int) -> None:
    """The implementation's samples follow the enumerated design (chi-square test)."""
    pi = inclusion_probabilities(sizes, n)
    dist = _oracle_design(pi.tolist())
    rng = np.random.default_rng(20240611)
    reps = 4000
    strata = np.zeros(len(sizes), dtype=np.int64)
    counts: Counter[frozenset[int]] = Counter()
    for _ in range(reps):
        sel, _pi = draw_stratified(strata, sizes, {0: n}, rng)
        counts[frozenset(sel.tolist())] += 1
    assert set(counts) <= set(dist)
    keys = sorted(dist, key=sorted)
    observed = np.array([counts[k] for k in keys], dtype=float)
    expected = np.array([float(dist[k]) * reps for k in keys])
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < sps.chi2.ppf(0.9999, len(keys) - 1)


def test_one_draw_strata_in_one_call() -> None:
    """Several one-draw strata with unequal sizes in one call: every stratum gets exactly one
    unit and each unit's selection frequency is its π (simulation)."""
    strata = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    size = np.array([1.0, 3.0, 6.0, 1.0, 4.0, 2.0, 2.0, 5.0, 1.0])
    n_by = {0: 1, 1: 1, 2: 1}
    rng = np.random.default_rng(8)
    reps = 2000
    hits = np.zeros(size.shape[0])
    pi = inclusion_probabilities(size[:3], 1)
    np.testing.assert_allclose(pi, [0.1, 0.3, 0.6], atol=1e-15)
    for _ in range(reps):
        sel, pi_all = draw_stratified(strata, size, n_by, rng)
        assert np.bincount(strata[sel], minlength=3).tolist() == [1, 1, 1]
        hits[sel] += 1
    expected = np.concatenate([size[:3] / 10, size[3:5] / 5, size[5:] / 10])
    np.testing.assert_allclose(pi_all, expected, atol=1e-15)
    tol = 4.5 * np.sqrt(expected * (1 - expected) / reps)
    assert np.all(np.abs(hits / reps - expected) <= tol)
