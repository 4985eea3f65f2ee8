"""How many of n intervals should cover the truth: the binomial acceptance range.

With ``n`` independent intervals of nominal coverage ``p``, the number that cover the true value
is Binomial(n, p). :func:`coverage_range` gives the central range holding at least ``level`` of
that distribution, so an observed count outside it is evidence (at level ``1 − level``) that the
intervals do not have their nominal coverage.
"""

from __future__ import annotations

import math

from scipy import stats as sps

__all__ = ["coverage_range"]


def coverage_range(n: int, p: float = 0.95, level: float = 0.95) -> tuple[int, int]:
    """Central acceptance range ``[lo, hi]`` for the number of covering intervals.

    Parameters
    ----------
    n : int
        Number of intervals (``n ≥ 0``).
    p : float, default 0.95
        Nominal coverage of each interval, in ``(0, 1)``.
    level : float, default 0.95
        Probability the range must hold at least, in ``(0, 1)``.

    Returns
    -------
    tuple of int
        ``lo`` is the largest count with ``P(X < lo) ≤ (1 − level)/2`` and ``hi`` the smallest
        with ``P(X > hi) ≤ (1 − level)/2``, so ``P(lo ≤ X ≤ hi) ≥ level``; ``(0, 0)`` for
        ``n = 0``.

    Raises
    ------
    ValueError
        For ``n < 0`` or ``p`` or ``level`` outside ``(0, 1)``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    for name, value in (("p", p), ("level", level)):
        if not 0.0 < value < 1.0 or math.isnan(value):
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if n == 0:
        return 0, 0
    tail = (1.0 - level) / 2.0
    dist = sps.binom(n, p)
    lo = 0
    while lo < n and float(dist.cdf(lo)) <= tail:  # P(X <= lo) <= tail, so P(X < lo + 1) too
        lo += 1
    hi = n
    while hi > 0 and float(dist.sf(hi - 1)) <= tail:  # P(X >= hi) <= tail
        hi -= 1
    return lo, hi
