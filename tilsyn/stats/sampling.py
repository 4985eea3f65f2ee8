"""Stratified πps sampling without replacement.

The design (BRIEF §5): within every stratum (caseworker) draw ``min(n_h, N_h)`` cases
without replacement with first-order inclusion probabilities proportional to a size
measure ``x = 1 + λ·risk``, capped at 1 (the standard πps capping: units whose π would
exceed 1 are taken with certainty and π of the rest is recomputed).

Selection is **randomised systematic πps** (Goodman & Kish 1950; Hartley & Rao 1962):
the units of a stratum are put in a uniformly random order, the cumulative sums of π
are laid out on ``[0, n_h)`` and the units whose interval contains one of the points
``u, u + 1, …, u + n_h − 1`` are taken, ``u ~ U[0, 1)``.  The realised first-order
inclusion probabilities equal π exactly (up to floating round-off, ~1e-12), every
stratum gets exactly ``min(n_h, N_h)`` distinct units, and with the random order all
second-order probabilities of two non-certainty units are positive as soon as at least
two non-certainty units are drawn in the stratum (brute-force checked in the tests).

Successive weighted draws (``numpy.random.Generator.choice(p=…, replace=False)``) are
*not* used: they do not give inclusion probabilities proportional to the size.

Numerical note: a unit whose capped π would lie within ``CERTAINTY_TOLERANCE`` (1e-9)
of 1 is treated as a certainty unit (π set to exactly 1 and the others recomputed).
This removes knife-edge round-off (e.g. π computed as 0.9999999999999999 where the
exact value is 1) and keeps every non-certainty interval strictly shorter than 1, so
no unit can be hit twice.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALGORITHM",
    "ALGORITHM_VERSION",
    "CERTAINTY_TOLERANCE",
    "draw_stratified",
    "inclusion_probabilities",
]

ALGORITHM = "systematic-pps-random-order"
ALGORITHM_VERSION = "1"
CERTAINTY_TOLERANCE = 1e-9

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _as_sizes(size: npt.ArrayLike) -> FloatArray:
    try:
        x = np.asarray(size, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("size must be an array of positive finite numbers") from exc
    if x.ndim != 1:
        raise ValueError(f"size must be one-dimensional, got shape {x.shape}")
    if x.size and not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("size must contain only positive, finite numbers")
    return x


def _as_count(n: Any, name: str) -> int:
    if isinstance(n, bool | np.bool_):
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        if isinstance(n, float | np.floating) and float(n).is_integer():
            value = int(n)
        else:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    return value


def _capped_pi(codes: IntArray, x: FloatArray, n_h: IntArray) -> FloatArray:
    """Capped πps inclusion probabilities, vectorised over strata.

    Parameters
    ----------
    codes : ndarray of int64
        Stratum code ``0 … H−1`` of every unit.
    x : ndarray of float64
        Positive size measures.
    n_h : ndarray of int64
        Sample size per stratum, already capped at the stratum size.

    Returns
    -------
    ndarray of float64
        π for every unit; exactly 1 for certainty units, exactly 0 when ``n_h = 0``.
    """
    n_strata = n_h.shape[0]
    certain = np.zeros(x.shape[0], dtype=bool)
    # Every round either adds a certainty unit in some stratum or stops; at most
    # max(n_h) + 1 rounds.
    while True:
        k_h = np.bincount(codes, weights=certain, minlength=n_strata)
        rest = np.where(certain, 0.0, x)
        s_h = np.bincount(codes, weights=rest, minlength=n_strata)
        remaining = n_h - k_h
        c_h = np.divide(remaining, s_h, out=np.zeros(n_strata), where=s_h > 0)
        pi: FloatArray = c_h[codes] * rest
        new = (~certain) & (pi >= 1.0 - CERTAINTY_TOLERANCE)
        if not new.any():
            break
        certain |= new
    pi[certain] = 1.0
    return pi


def inclusion_probabilities(size: npt.ArrayLike, n: int) -> FloatArray:
    """Capped probability-proportional-to-size inclusion probabilities.

    ``π_i = min(1, c·size_i)`` with ``c`` chosen so that ``Σ π_i = n``.  Units that
    reach 1 are taken with certainty and ``c`` is recomputed on the remaining units
    until no π exceeds 1.

    Parameters
    ----------
    size : array_like of float
        Positive, finite size measures (e.g. ``1 + λ·risk``), one per unit.
    n : int
        Sample size, ``0 <= n <= len(size)``.

    Returns
    -------
    ndarray of float64
        Inclusion probabilities, same length as ``size``.  ``n = len(size)`` gives all
        ones and ``n = 0`` all zeros.

    Raises
    ------
    ValueError
        If ``size`` is not one-dimensional, contains non-positive or non-finite
        values, or ``n`` is not an integer in ``[0, len(size)]``.

    Examples
    --------
    >>> inclusion_probabilities([10, 1, 1, 1, 1], 2).tolist()
    [1.0, 0.25, 0.25, 0.25, 0.25]
    """
    x = _as_sizes(size)
    count = _as_count(n, "n")
    if count > x.shape[0]:
        raise ValueError(f"n = {count} exceeds the number of units ({x.shape[0]})")
    codes = np.zeros(x.shape[0], dtype=np.int64)
    return _capped_pi(codes, x, np.array([count], dtype=np.int64))


def _as_labels(strata: npt.ArrayLike | Sequence[Hashable]) -> npt.NDArray[Any]:
    labels = np.asarray(strata)
    if labels.ndim != 1:
        # e.g. a sequence of tuples (caseworker, scheme): keep each label whole.
        seq = list(strata)  # type: ignore[arg-type]
        labels = np.empty(len(seq), dtype=object)
        for i, label in enumerate(seq):
            labels[i] = label
    return labels


def draw_stratified(
    strata: npt.ArrayLike | Sequence[Hashable],
    size: npt.ArrayLike,
    n_by_stratum: Mapping[Any, int],
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray]:
    """Draw a stratified randomised-systematic πps sample.

    Parameters
    ----------
    strata : array_like
        Stratum label of every unit (ints, strings or other sortable hashables).
    size : array_like of float
        Positive, finite size measure of every unit.
    n_by_stratum : Mapping
        Requested sample size per stratum label.  A stratum missing from the mapping
        gets 0; labels that do not occur in ``strata`` are ignored.  A stratum with
        fewer units than requested is taken completely.
    rng : numpy.random.Generator
        Source of randomness.  Exactly one ``rng.permutation(N)`` followed by one
        ``rng.random(H)`` (H = number of strata) is consumed, so the same inputs and
        generator state always give the same sample.

    Returns
    -------
    selected : ndarray of int64
        Sorted indices (into the input arrays) of the selected units.
    pi : ndarray of float64
        First-order inclusion probability of every unit (length N).

    Raises
    ------
    ValueError
        On mismatched lengths, invalid sizes or negative/non-integer sample sizes.
    """
    labels = _as_labels(strata)
    x = _as_sizes(size)
    n_units = x.shape[0]
    if labels.shape[0] != n_units:
        raise ValueError(
            f"strata and size must have the same length ({labels.shape[0]} != {n_units})"
        )
    if not isinstance(n_by_stratum, Mapping):
        raise ValueError("n_by_stratum must be a mapping from stratum label to sample size")
    requested = {
        key: _as_count(value, f"n for stratum {key!r}") for key, value in n_by_stratum.items()
    }
    if n_units == 0:
        rng.permutation(0)
        rng.random(0)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)

    # One uniformly random permutation, then a stable sort by stratum: units are
    # grouped by stratum and in uniformly random order within each stratum.
    perm = rng.permutation(n_units)
    try:
        order = perm[np.argsort(labels[perm], kind="stable")]
    except TypeError as exc:
        raise ValueError("stratum labels must be mutually comparable") from exc
    sorted_labels = labels[order]
    change = np.empty(n_units, dtype=bool)
    change[0] = True
    np.not_equal(sorted_labels[1:], sorted_labels[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    n_strata = starts.shape[0]
    codes = np.cumsum(change, dtype=np.int64) - 1
    big_n = np.diff(np.append(starts, n_units)).astype(np.int64)
    uniq = sorted_labels[starts].tolist()
    want = np.fromiter((requested.get(lab, 0) for lab in uniq), dtype=np.int64, count=n_strata)
    n_h = np.minimum(want, big_n)
    u = rng.random(n_strata)

    # π is computed in input order so that it does not depend on the random order
    codes_in = np.empty(n_units, dtype=np.int64)
    codes_in[order] = codes
    pi = _capped_pi(codes_in, x, n_h)
    pi_s = pi[order]
    certain = pi_s == 1.0
    k_h = np.bincount(codes, weights=certain, minlength=n_strata).astype(np.int64)
    m_h = n_h - k_h  # systematic draws among non-certainty units
    p = np.where(certain, 0.0, pi_s)

    hits = _systematic_hits(p, codes, starts, m_h, u)
    bad = hits > 1
    if bad.any():  # pragma: no cover - needs round-off beyond CERTAINTY_TOLERANCE
        for h in np.unique(codes[bad]).tolist():
            lo = int(starts[h])
            hi = lo + int(big_n[h])
            sub = _systematic_hits(
                p[lo:hi],
                np.zeros(hi - lo, dtype=np.int64),
                np.zeros(1, dtype=np.int64),
                m_h[h : h + 1],
                u[h : h + 1],
            )
            if (sub > 1).any():
                raise RuntimeError("systematic selection hit a unit twice")
            hits[lo:hi] = sub
    chosen = certain | (hits == 1)
    selected = np.sort(order[chosen]).astype(np.int64, copy=False)
    return selected, pi


def _systematic_hits(
    p: FloatArray, codes: IntArray, starts: IntArray, m_h: IntArray, u: FloatArray
) -> IntArray:
    """Number of systematic points falling in each unit's interval.

    Units are laid out stratum by stratum (``codes`` non-decreasing, stratum ``h``
    starting at ``starts[h]``); within stratum ``h`` the interval of unit ``i`` is
    ``[b_{i−1}, b_i)`` with ``b`` the cumulative sum of ``p`` rescaled to end at
    exactly ``m_h``; the points are ``u_h + j``, ``j = 0 … m_h − 1``.  Counting the
    points below each boundary (clipped to ``[0, m_h]``, and exactly ``m_h`` at the
    stratum's final boundary) and differencing makes the per-stratum total exactly
    ``m_h`` whatever the round-off.
    """
    cum = np.cumsum(p)
    before = np.concatenate(([0.0], cum))[starts]  # cumulative total before stratum
    local = cum - before[codes]
    total = np.maximum.reduceat(local, starts)
    m_f = m_h.astype(np.float64)
    scale = np.divide(m_f, total, out=np.zeros_like(total), where=total > 0)
    b = local * scale[codes]
    below = np.clip(np.ceil(b - u[codes]), 0.0, m_f[codes])
    # at and after the last positive unit of a stratum the boundary is exactly m_h
    below = np.where(local >= total[codes], m_f[codes], below)
    idx = below.astype(np.int64)
    prev = np.empty_like(idx)
    prev[1:] = idx[:-1]
    prev[starts] = 0
    return idx - prev
