"""tilsyn.stats.coverage against exact enumeration of the binomial distribution."""

from __future__ import annotations

from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsyn.stats.coverage import coverage_range


def _pmf(n: int, p: float) -> list[float]:
    return [comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 120), st.sampled_from([0.8, 0.9, 0.95]), st.sampled_from([0.9, 0.95]))
def test_range_is_the_central_region(n: int, p: float, level: float) -> None:
    lo, hi = coverage_range(n, p, level)
    pmf = _pmf(n, p)
    tail = (1 - level) / 2
    assert 0 <= lo <= hi <= n
    assert sum(pmf[:lo]) <= tail + 1e-12  # below lo: at most the tail
    assert sum(pmf[hi + 1 :]) <= tail + 1e-12  # above hi: at most the tail
    assert sum(pmf[lo : hi + 1]) >= level - 1e-12
    # and it is the tightest such range: one more step in would exceed the tail
    if lo < hi:
        assert sum(pmf[: lo + 1]) > tail - 1e-12 or sum(pmf[hi:]) > tail - 1e-12


def test_known_values() -> None:
    assert coverage_range(0) == (0, 0)
    # 40 rounds at 95 %: P(X < 35) = 0.014 and P(X < 36) = 0.048, so 35 to 40 is unremarkable
    lo, hi = coverage_range(40)
    assert (lo, hi) == (35, 40)


@pytest.mark.parametrize(("n", "p", "level"), [(-1, 0.95, 0.95), (5, 1.0, 0.95), (5, 0.9, 0.0)])
def test_invalid(n: int, p: float, level: float) -> None:
    with pytest.raises(ValueError):
        coverage_range(n, p, level)
