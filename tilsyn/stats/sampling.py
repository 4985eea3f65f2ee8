"""Stratified πps sampling without replacement.

The design (``docs/statistics.md``): within every stratum (caseworker) draw ``min(n_h, N_h)`` cases
without replacement with first-order inclusion probabilities proportional to a size
measure ``x = 1 + λ·risk``, capped at 1 (the standard πps capping: units whose π would
exceed 1 are taken with certainty and π of the rest is recomputed).

Selection is **randomised systematic πps** (Goodman & Kish 1950; Hartley & Rao 1962):
the units of a stratum are put in a uniformly random order, the cumulative sums of π
are laid out on ``[0, n_h)`` and the units whose interval contains one of the points
``u, u + 1, …, u + n_h − 1`` are taken, ``u ~ U[0, 1)``.  The realised first-order
inclusion probabilities equal π exactly (up to floating round-off, ~1e-12) and every
stratum gets exactly ``min(n_h, N_h)`` distinct units.

Second-order inclusion probabilities ``π_ij`` are **not** all positive, even when two or
more non-certainty units are drawn in a stratum.  Counterexample (exact enumeration in
the tests): sizes ``[1, 1, 2, 2, 2]``, ``n = 2`` give ``π = (¼, ¼, ½, ½, ½)``; whatever
the order, the start of unit 1's interval lies ``¼ + (a sum of halves)`` from the start of
unit 0's, i.e. ``¼`` or ``¾`` modulo 1, so the two quarter-length intervals can never both
contain a point and ``π_01 = 0``.  Such zeros can arise when the π take a few rational
values with small denominators (integer risk weights make that common); the random order
only makes them rarer.  With equal sizes (λ = 0) every ``π_ij`` is positive once
``n_h ≥ 2`` (checked by enumeration in the tests).
Consequences: the Horvitz–Thompson and Sen–Yates–Grundy variance estimators, which need
``π_ij > 0`` for every pair, have no unbiased version under this design, and a pair with
``π_ij = 0`` is never observed together.  Neither matters here: the point estimators
(Horvitz–Thompson, Hájek) need only the first-order π, which are exact and positive for
every unit of a stratum with ``n_h > 0``, and :mod:`tilsyn.stats.estimation` estimates
variances by stratified with-replacement linearisation, which uses no ``π_ij``.  The design
definitions (``docs/statistics.md``) name systematic πps on a random order as acceptable.

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
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tilsyn.stats.strata import StrataLike, as_labels, encode_strata

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
        # out=None would leave c_h unset only where every unit is certain: rest is 0 there.
        c_h = np.divide(remaining, s_h, out=np.zeros(n_strata), where=s_h > 0)  # pragma: no mutate
        pi: FloatArray = c_h[codes] * rest
        # ">" for ">=" differs only for a π of exactly 1 - 1e-9.
        new = (~certain) & (pi >= 1.0 - CERTAINTY_TOLERANCE)  # pragma: no mutate
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
    # dtype=None also gives int64 for a Python int.
    return _capped_pi(codes, x, np.array([count], dtype=np.int64))  # pragma: no mutate


def _requested_sizes(n_by_stratum: Mapping[Any, int]) -> dict[Any, int]:
    if not isinstance(n_by_stratum, Mapping):
        raise ValueError("n_by_stratum must be a mapping from stratum label to sample size")
    return {key: _as_count(value, f"n for stratum {key!r}") for key, value in n_by_stratum.items()}


def draw_stratified(
    strata: StrataLike,
    size: npt.ArrayLike,
    n_by_stratum: Mapping[Any, int],
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray]:
    """Draw a stratified randomised-systematic πps sample.

    Parameters
    ----------
    strata : array_like
        Stratum label of every unit (ints, strings or other sortable hashables, e.g.
        tuples ``(caseworker, scheme)``).
    size : array_like of float
        Positive, finite size measure of every unit.
    n_by_stratum : Mapping
        Requested sample size per stratum label.  A stratum missing from the mapping
        gets 0; labels that do not occur in ``strata`` are ignored.  A stratum with
        fewer units than requested is taken completely.
    rng : numpy.random.Generator
        Source of randomness.  Exactly one ``rng.integers(…, size=N)`` (random order
        keys) followed by one ``rng.random(H)`` (one start per stratum code) is
        consumed, so the same inputs and generator state always give the same sample.

    Returns
    -------
    selected : ndarray of int64
        Sorted indices (into the input arrays) of the selected units.
    pi : ndarray of float64
        First-order inclusion probability of every unit (length N); computed from the
        sizes alone, independent of ``rng``.

    Raises
    ------
    ValueError
        On mismatched lengths, invalid sizes or negative/non-integer sample sizes.

    Notes
    -----
    Within a stratum the certainty units (π = 1) are always taken; the other units are
    put in random order by random integer keys (ties, which have probability of order
    ``N_h² 2^-r`` with ``r ≥ 20`` random bits at production scale, are broken by input
    position so the result is platform independent).  The first-order inclusion
    probabilities of systematic πps equal π for *any* order; the random order only
    spreads the second-order probabilities, some of which may still be 0 (see the
    module docstring).  Implementation: one argsort of a combined
    int64 key (stratum, certainty flag, random key, position), one cumulative sum, and
    the floor-difference trick on the systematic points.
    """
    labels = as_labels(strata)
    x = _as_sizes(size)
    n_units = x.shape[0]
    if labels.shape[0] != n_units:
        raise ValueError(
            f"strata and size must have the same length ({labels.shape[0]} != {n_units})"
        )
    requested = _requested_sizes(n_by_stratum)
    if n_units == 0:  # no random numbers consumed
        return np.zeros(0, dtype=np.int64), np.zeros(0)

    codes, code_labels = encode_strata(labels)
    n_codes = len(code_labels)
    # Every code 0 … H-1 carries a unit (encode_strata), so minlength changes nothing.
    big_n = np.bincount(codes, minlength=n_codes)  # pragma: no mutate
    # dtype=None also gives int64 (the sizes are Python ints, see _requested_sizes).
    # pragma: no mutate start
    want = np.array([requested.get(lab, 0) for lab in code_labels], dtype=np.int64)
    # pragma: no mutate end
    n_h = np.minimum(want, big_n)
    pi = _capped_pi(codes, x, n_h)  # input order: independent of the random order
    # Equivalent: with "pi == 2.0" no unit is set aside as certain, but a certainty unit's
    # interval has length 1 and holds one systematic point wherever it lies.
    certain = pi == 1.0  # pragma: no mutate
    # The weighted count is a whole float; int64 or float64 give the same sizes.
    # pragma: no mutate start
    k_h = np.bincount(codes, weights=certain, minlength=n_codes).astype(np.int64)
    # pragma: no mutate end
    m_h = n_h - k_h  # systematic draws among the non-certainty units

    # Sort key: stratum code | non-certainty flag | random bits | input position. At least 16
    # random bits are left unless units × strata exceed about 2^45, which no memory holds.
    # The mutants of these lines keep the order of the keys, so they are equivalent (see
    # docs/statistics.md, appendix B): Generator.integers with a power-of-two bound returns the
    # top bits of one 64-bit draw, so a bit more or less, a lower bound of 1 or the random field
    # shifted otherwise keep the order; the field widths only move fields inside the 63-bit key;
    # the certainty flag does not matter (see `certain` above); strata may come in any order.
    # pragma: no mutate start
    pos_bits = max(int(n_units - 1).bit_length(), 1)
    code_bits = max(int(n_codes - 1).bit_length(), 1)
    rand_bits = 63 - code_bits - 1 - pos_bits
    rand = rng.integers(0, 1 << rand_bits, size=n_units, dtype=np.int64)
    key = (codes << (rand_bits + pos_bits + 1)) | (
        (~certain).astype(np.int64) << (rand_bits + pos_bits)
    )
    key |= (rand << pos_bits) | np.arange(n_units, dtype=np.int64)
    # pragma: no mutate end
    order = np.argsort(key)
    u = rng.random(n_codes)

    cs = codes[order]
    ps = np.where(certain, 0.0, pi)[order]
    hits = _systematic_hits(ps, cs, m_h, u)
    chosen = np.zeros(n_units, dtype=bool)
    chosen[order[hits > 0]] = True
    if (hits > 1).any():  # pragma: no cover, no mutate block - excluded by CERTAINTY_TOLERANCE
        raise RuntimeError("systematic selection hit a unit twice")
    chosen |= certain
    # flatnonzero already gives int64: the dtype and copy= arguments change nothing.
    return np.flatnonzero(chosen).astype(np.int64, copy=False), pi  # pragma: no mutate


def _systematic_hits(p: FloatArray, codes: IntArray, m_h: IntArray, u: FloatArray) -> IntArray:
    """Number of systematic points falling in each unit's interval.

    Units are laid out stratum by stratum (``codes`` non-decreasing) with every
    stratum's last unit having ``p > 0`` unless ``m_h = 0``.  Within stratum ``h`` unit
    ``i`` owns ``[b_{i−1}, b_i)``, ``b`` being the cumulative sum of ``p`` rescaled to
    end at exactly ``m_h``; the points are ``u_h + j``, ``j = 0 … m_h − 1``.  The number
    of points below each boundary is clipped to ``[0, m_h]`` and set to exactly ``m_h``
    at the stratum's last unit, so differencing gives exactly ``m_h`` hits per stratum
    whatever the round-off.
    """
    n = p.shape[0]
    last = np.empty(n, dtype=bool)  # pragma: no mutate - a float mask of 0/1 works the same
    last[-1] = True
    np.not_equal(codes[1:], codes[:-1], out=last[:-1])
    ends = np.flatnonzero(last)
    starts = np.concatenate(([0], ends[:-1] + 1))
    cum = np.cumsum(p)
    # "starts > 1": a stratum of one unit has π 0 or 1, so its p (and the sum before it) is 0.
    before = np.where(starts > 0, cum[starts - 1], 0.0)  # pragma: no mutate
    total = cum[ends] - before
    h = codes[ends]
    m = m_h[h].astype(np.float64)  # pragma: no mutate - int or float: the same whole numbers
    # out=None leaves the scale of strata with m_h = 0 unset: all their p are 0, so no hits.
    scale = np.divide(m, total, out=np.zeros_like(total), where=total > 0)  # pragma: no mutate
    per_scale = np.zeros(m_h.shape[0])
    per_offset = np.zeros(m_h.shape[0])
    per_scale[h] = scale
    per_offset[h] = before * scale + u[h]
    idx = np.ceil(cum * per_scale[codes] - per_offset[codes])
    # A guard against round-off that the rescaled cumulative sums do not produce (kept so that
    # no draw can change): its mutants are equivalent.
    np.clip(idx, 0.0, m_h[codes].astype(np.float64), out=idx)  # pragma: no mutate
    idx[ends] = m
    counts = idx.astype(np.int64)  # pragma: no mutate - float counts difference the same
    prev = np.empty_like(counts)
    prev[1:] = counts[:-1]
    prev[starts] = 0
    return counts - prev
