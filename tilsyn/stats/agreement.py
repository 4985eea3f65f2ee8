"""Agreement between two reviewers who answered the same cases.

Three coefficients for two raters and nominal categories (one label per case and
reviewer; ``a[i]`` and ``b[i]`` are the first and the second reviewer's answer on
case ``i``):

* :func:`percent_agreement` — the share of cases with the same answer, as Gwet's
  ``irrCAC::pa.coeff.raw`` (variance ``s²/n`` of the agreement indicator, t interval on
  ``n − 1`` degrees of freedom), interval clipped to ``[0, 1]``.
* :func:`cohen_kappa` — Cohen's κ ``(p_o − p_c)/(1 − p_c)`` with
  ``p_c = Σ_k p_k· p_·k``, identical to R's ``psych::cohen.kappa`` (unweighted): the
  large-sample variance of Fleiss, Cohen and Everitt (1969),

  .. math::

     \\operatorname{Var}(κ) = \\frac{1}{n(1-p_c)^4}\\Big[
       \\sum_k p_{kk}\\{(1-p_c) - (p_{k·}+p_{·k})(1-p_o)\\}^2
       + (1-p_o)^2 \\sum_{k≠l} p_{kl}(p_{·k}+p_{l·})^2
       - (p_o p_c - 2p_c + p_o)^2 \\Big],

  a negative value from rounding taken as 0 (as psych does), and the normal interval
  ``κ ± z_{1−α/2}·SE`` clipped to ``[−1, 1]``.
* :func:`gwet_ac1` — Gwet's AC1 ``(p_a − p_e)/(1 − p_e)`` with
  ``p_e = Σ_k π_k(1 − π_k)/(q − 1)``, ``π_k`` the share of all answers (both reviewers)
  in category ``k`` and ``q`` the number of categories, identical to Gwet's
  ``irrCAC::gwet.ac1.raw`` (unweighted, ``N = Inf``): the variance of Gwet (2008)
  without finite-population correction,
  ``Var = Σ_i (ac1*_i − AC1)² / (n(n − 1))`` with
  ``ac1*_i = (p_{a,i} − p_e)/(1 − p_e) − 2(1 − AC1)(p_{e,i} − p_e)/(1 − p_e)`` and
  ``p_{e,i} = Σ_k (n_{ik}/2)(1 − π_k)/(q − 1)``; the t interval on ``n − 1`` degrees of
  freedom with its upper end clipped at 1 (the lower end is not clipped, as in irrCAC).

The categories are those observed in ``a`` and ``b`` unless ``categories`` names the
full answer scale (irrCAC's ``categ.labels``). This matters only for AC1, whose chance
agreement depends on ``q``; κ and the percent agreement do not change when an unused
category is added.

Degenerate data (decided here; nothing raises or warns for them):

* **No cases** (``n = 0``): every figure is NaN.
* **A single case** (``n = 1``): the estimate is computed as for any ``n``, but the
  standard error and the interval are NaN — one case carries no information about
  sampling variability.  (irrCAC returns NA here too; psych would report a variance of 0
  for a single disagreement, which we do not copy.)
* **All answers in one category** (both reviewers gave the same single answer on every
  case, so that ``q = 1``):

  - κ is undefined (the chance agreement ``p_c`` is 1 and κ = 0/0): estimate, standard
    error and interval are NaN, as psych's estimate (NA);
  - AC1 is 1 (irrCAC's value: it sets ``p_e = 1 − 10⁻¹⁵`` when ``q = 1``), with
    standard error 0 and the interval ``[1, 1]`` when ``n ≥ 2`` — the same as perfect
    agreement spread over several categories, for which irrCAC itself gives a variance
    of 0 (irrCAC's variance is NaN when ``q = 1``; we take the limit instead).

  - the percent agreement is 1 with standard error 0 and the interval ``[1, 1]``
    (irrCAC's ``pa.coeff.raw`` reports no variance when ``q = 1``).

  With ``categories`` naming more than one category ``q ≥ 2`` and AC1 is computed by
  the general formula (``p_e = 0``, AC1 = 1, variance 0).
* **Perfect agreement** over two or more categories: κ = 1 and AC1 = 1 with standard
  error exactly 0 and interval ``[1, 1]``.

Invalid input — sequences of different lengths, a missing answer (``None``), a label
outside ``categories``, duplicate categories, a level outside ``(0, 1)`` — raises
``ValueError``.  Pairs where a reviewer has not answered must be left out by the caller.

References
----------
Fleiss, J. L., Cohen, J. and Everitt, B. S. (1969). Large sample standard errors of
kappa and weighted kappa. *Psychological Bulletin* 72, 323–327.

Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence
of high agreement. *British Journal of Mathematical and Statistical Psychology* 61,
29–48.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from tilsyn.stats._common import (
    NAN,
    FloatArray,
    IntArray,
    check_level,
    fill_doc,
    t_quantile,
    z_quantile,
)

__all__ = ["Agreement", "cohen_kappa", "gwet_ac1", "percent_agreement"]

# Docstring paragraphs the three coefficients share, filled in at the end of the module.
_DOC = {
    "pairs": """a, b : sequence of hashable
    First and second reviewer's answer per case (equal lengths, no ``None``).""",
    "raises": """Raises
------
ValueError
    On invalid input (see the module notes).""",
}


@dataclass(frozen=True, slots=True)
class Agreement:
    """An agreement coefficient with its precision.

    Attributes
    ----------
    estimate : float
        The coefficient (NaN when undefined, see the module notes).
    std_error : float
        Its standard error (NaN when ``n < 2`` or the coefficient is undefined).
    ci_low, ci_high : float
        Confidence interval at ``level`` (NaN together with ``std_error``).
    n : int
        Number of cases (pairs of answers).
    level : float
        Confidence level of the interval.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    level: float


@dataclass(frozen=True, slots=True)
class _Pairs:
    a: IntArray  # category code of the first answer per case
    b: IntArray  # category code of the second answer per case
    q: int  # number of categories
    n_used: int  # number of categories that occur in a or b


def _encode(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    categories: Sequence[Hashable] | None,
) -> _Pairs:
    la, lb = list(a), list(b)
    if len(la) != len(lb):
        raise ValueError(f"a and b must have the same length, got {len(la)} and {len(lb)}")
    codes: dict[Hashable, int] = {}
    if categories is not None:
        for c in categories:
            if c is None:
                raise ValueError("categories must not contain None")
            if c in codes:
                raise ValueError(f"duplicate category {c!r}")
            codes[c] = len(codes)
    fixed = categories is not None
    out = np.empty((2, len(la)), dtype=np.int64)
    for row, labels in enumerate((la, lb)):
        for i, label in enumerate(labels):
            if label is None:
                raise ValueError(f"missing answer (None) at position {i}")
            code = codes.get(label)
            if code is None:
                if fixed:
                    raise ValueError(f"answer {label!r} at position {i} is not a category")
                code = codes[label] = len(codes)
            out[row, i] = code
    n_used = int(np.unique(out).size)
    return _Pairs(a=out[0], b=out[1], q=len(codes), n_used=n_used)


def _inputs(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    level: float,
    categories: Sequence[Hashable] | None,
) -> tuple[float, _Pairs, int]:
    """The checked level, the coded answers and the number of cases."""
    pairs = _encode(a, b, categories)
    return check_level(level), pairs, int(pairs.a.size)


def _t_half(values: FloatArray, centre: float, n: int, level: float) -> tuple[float, float]:
    """Standard error ``sqrt(Σ (v_i − centre)² / (n(n − 1)))`` and the half-width of its
    t interval on ``n − 1`` degrees of freedom."""
    se = math.sqrt(float(np.sum((values - centre) ** 2)) / (n * (n - 1)))
    return se, se * t_quantile(1.0 - (1.0 - level) / 2.0, n - 1)


def _nan(n: int, level: float, estimate: float = NAN) -> Agreement:
    return Agreement(estimate, NAN, NAN, NAN, n, level)


def percent_agreement(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    level: float = 0.95,
    *,
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Share of cases on which the two reviewers gave the same answer.

    Parameters
    ----------
    %(pairs)s
    level : float, default 0.95
        Confidence level.
    categories : sequence of hashable, optional
        The full answer scale; only used to check the answers.

    Returns
    -------
    Agreement
        ``p_a = mean(a_i == b_i)`` with standard error ``sqrt(s²/n)`` (``s²`` the
        sample variance of the agreement indicator) and the t interval on ``n − 1``
        degrees of freedom, clipped to ``[0, 1]`` — ``irrCAC::pa.coeff.raw`` except
        that its lower end is not clipped at 0.

    %(raises)s
    """
    lev, pairs, n = _inputs(a, b, level, categories)
    if n == 0:
        return _nan(0, lev)
    agree = (pairs.a == pairs.b).astype(np.float64)
    pa = float(agree.mean())
    if n < 2:
        return _nan(n, lev, pa)
    se, half = _t_half(agree, pa, n, lev)
    return Agreement(pa, se, max(0.0, pa - half), min(1.0, pa + half), n, lev)


def _table(pairs: _Pairs) -> FloatArray:
    counts = np.zeros((pairs.q, pairs.q), dtype=np.float64)
    np.add.at(counts, (pairs.a, pairs.b), 1.0)
    return counts


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    level: float = 0.95,
    *,
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Cohen's κ between two reviewers, as R's ``psych::cohen.kappa``.

    Parameters
    ----------
    %(pairs)s
    level : float, default 0.95
        Confidence level of the normal interval.
    categories : sequence of hashable, optional
        The full answer scale; only used to check the answers (κ does not depend on
        unused categories).

    Returns
    -------
    Agreement
        κ, the Fleiss–Cohen–Everitt large-sample standard error and the normal interval
        clipped to ``[−1, 1]``; NaN figures for the degenerate cases in the module
        notes.

    %(raises)s
    """
    lev, pairs, n = _inputs(a, b, level, categories)
    if n == 0 or pairs.n_used < 2:
        return _nan(n, lev)
    counts = _table(pairs)
    rs_n = counts.sum(axis=1)  # first reviewer's answers per category
    cs_n = counts.sum(axis=0)  # second reviewer's answers per category
    # p_o and p_c from integer counts, so that perfect agreement gives exactly 1.
    po = float(np.trace(counts)) / n
    pc = float(rs_n @ cs_n) / (float(n) * n)
    kappa = (po - pc) / (1.0 - pc)
    if n < 2:
        return _nan(n, lev, kappa)
    if po == 1.0:
        var = 0.0  # every term of the variance cancels exactly
    else:
        p = counts / n
        rs, cs = rs_n / n, cs_n / n
        diag = np.diag(p)
        term1 = float(np.sum(diag * ((1.0 - pc) - (rs + cs) * (1.0 - po)) ** 2))
        off = p * (cs[:, None] + rs[None, :]) ** 2  # [k, l] = p_kl (p_.k + p_l.)²
        term2 = (1.0 - po) ** 2 * float(off.sum() - np.trace(off))
        term3 = (po * pc - 2.0 * pc + po) ** 2
        # The terms cancel; what is left within round-off of their size is a zero variance
        # (e.g. one reviewer always gives the same answer), not a standard error of ~1e-8.
        numerator = term1 + term2 - term3
        if numerator <= 64.0 * np.finfo(np.float64).eps * max(term1 + term2, term3):
            numerator = 0.0
        var = numerator / (n * (1.0 - pc) ** 4)
    se = math.sqrt(max(var, 0.0))
    half = se * z_quantile(1.0 - (1.0 - lev) / 2.0)
    return Agreement(kappa, se, max(-1.0, kappa - half), min(1.0, kappa + half), n, lev)


def gwet_ac1(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    level: float = 0.95,
    *,
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Gwet's AC1 between two reviewers, as ``irrCAC::gwet.ac1.raw``.

    Parameters
    ----------
    %(pairs)s
    level : float, default 0.95
        Confidence level of the t interval.
    categories : sequence of hashable, optional
        The full answer scale (irrCAC's ``categ.labels``); by default the categories
        that occur in ``a`` or ``b``.

    Returns
    -------
    Agreement
        AC1, Gwet's standard error without finite-population correction and the t
        interval on ``n − 1`` degrees of freedom with its upper end clipped at 1; the
        degenerate cases as in the module notes.

    %(raises)s
    """
    lev, pairs, n = _inputs(a, b, level, categories)
    if n == 0:
        return _nan(0, lev)
    q = pairs.q
    if q < 2:
        # One category and every answer in it: AC1 = 1 (irrCAC), with no variability.
        if n < 2:
            return _nan(n, lev, 1.0)
        return Agreement(1.0, 0.0, 1.0, 1.0, n, lev)
    counts = np.zeros((n, q), dtype=np.float64)  # n_ik: answers in category k on case i
    rows = np.arange(n)
    np.add.at(counts, (rows, pairs.a), 1.0)
    np.add.at(counts, (rows, pairs.b), 1.0)
    pa_i = (pairs.a == pairs.b).astype(np.float64)
    pa = float(pa_i.mean())
    pi_k = counts.mean(axis=0) / 2.0
    pe = float(np.sum(pi_k * (1.0 - pi_k))) / (q - 1)
    ac1 = (pa - pe) / (1.0 - pe)
    if n < 2:
        return _nan(n, lev, ac1)
    ac1_i = (pa_i - pe) / (1.0 - pe)
    pe_i = (counts @ (1.0 - pi_k)) / (2.0 * (q - 1))
    ac1_x = ac1_i - 2.0 * (1.0 - ac1) * (pe_i - pe) / (1.0 - pe)
    se, half = _t_half(ac1_x, ac1, n, lev)
    return Agreement(ac1, se, ac1 - half, min(1.0, ac1 + half), n, lev)


fill_doc(_DOC, percent_agreement, cohen_kappa, gwet_ac1)
