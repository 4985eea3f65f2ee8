"""Design-based estimation of shares and means from a stratified πps sample.

Definitions (``docs/statistics.md``), identical to R's survey package with

.. code-block:: r

    options(survey.lonely.psu = "adjust")
    des <- svydesign(ids = ~1, strata = ~strata, probs = ~pi, data = d)
    sub <- subset(des, domain)
    svyciprop(~y, sub, method = "beta")          # estimate_proportion
    svymean(~y, sub); confint(., df = degf(sub))  # estimate_mean

* **Point estimate.** Hájek ratio ``Σ w d y / Σ w d`` with ``w = 1/π`` and ``d`` the
  domain indicator.
* **Variance.** Stratified with-replacement Taylor linearisation without finite
  population correction.  The linearised variable is ``z_i = d_i w_i (y_i − ŷ) / N̂_d``
  (zero for units outside the domain, which still count in their stratum — the usual
  domain estimation).  A stratum with ``n_h ≥ 2`` units in the full sample contributes
  ``n_h/(n_h−1) Σ_i (z_i − z̄_h)²``.
* **Lonely PSU.** A stratum with a single unit in the full sample (a caseworker with one
  sampled case) contributes ``(z_i − z̄)²`` with ``z̄`` the grand mean of the linearised
  values, scale 1 — R's ``survey.lonely.psu = "adjust"``.  For the Hájek estimator the
  grand mean is 0 by construction, so the contribution is ``z_i²`` (exactly what
  survey 4.x computes).  A stratum holding one *domain* unit but several sample units is
  not lonely; it is handled by the zero-padded formula above (R's default
  ``survey.adjust.domain.lonely = FALSE``).
* **Degrees of freedom.** ``df = n_d − H_d``: domain units minus strata that hold
  domain units (R's ``degf(subset(des, domain))``).
* **Proportion interval.** Korn–Graubard as ``svyciprop(method = "beta")``: effective
  sample size ``n* = p̂(1−p̂)/v̂ · (t_{α/2, n_d−1} / t_{α/2, df})²`` and
  ``[Beta⁻¹(α/2; n*p̂, n*(1−p̂)+1), Beta⁻¹(1−α/2; n*p̂+1, n*(1−p̂))]``.
  When ``v̂ = 0`` (in particular ``p̂ = 0`` or ``p̂ = 1``, where R returns NaN) the
  Clopper–Pearson interval for ``n_d`` trials and ``p̂·n_d`` successes is returned.
  When ``df ≤ 0`` and ``v̂ > 0`` the interval is NaN (not estimable); the standard
  error is still reported.
* **Mean interval.** ``ŷ ± t_{1−α/2, df} · SE``; NaN when ``df ≤ 0``.
* **Empty domain.** Every figure is NaN, ``n = 0``, ``df = 0``.  Nothing raises or
  warns for degenerate data; invalid input raises ``ValueError``.
* **Ratio** (:func:`estimate_ratio`, a theme over several control points):
  ``R = Σ w d y / Σ w d x`` with ``z_i = d_i w_i (y_i − R x_i) / Σ w d x`` in the variance
  above and ``R ± t_{1−α/2, df}·SE`` — R's ``confint(svyratio(~y, ~x, sub), df = degf(sub))``.
* **Changes** (:func:`compare`) carry the two-sided t p-value; :func:`bh_adjust` is R's
  ``p.adjust(p, method = "BH")`` for flagging within a family of comparisons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from tilsyn.stats._common import (
    NAN,
    FloatArray,
    IntArray,
    check_level,
    fill_doc,
    t_quantile,
    z_quantile,
)
from tilsyn.stats.strata import StrataLike, encode_strata

__all__ = [
    "Difference",
    "Estimate",
    "bh_adjust",
    "compare",
    "estimate_mean",
    "estimate_proportion",
    "estimate_ratio",
    "stratum_codes",
]

# Docstring paragraphs the estimators share, filled in at the end of the module.
_DOC = {
    "pi": """pi : array_like of float
    First-order inclusion probability per unit, in ``(0, 1]``.""",
    "strata": """strata : array_like or sequence of hashable
    Stratum label (int, string, tuple, or integer code) per unit of the full sample.""",
    "domain_level": """domain : array_like of bool, optional
    Domain indicator; None means every unit.
level : float, default 0.95
    Confidence level.""",
}


@dataclass(frozen=True, slots=True)
class Estimate:
    """A design-based estimate for one domain.

    Attributes
    ----------
    estimate : float
        Hájek estimate (share in ``[0, 1]`` or mean).
    std_error : float
        Linearisation standard error.
    ci_low, ci_high : float
        Confidence interval at ``level``.
    n : int
        Number of sampled units in the domain (units with an answer).
    df : int
        Design degrees of freedom ``n − (strata holding domain units)``.
    level : float
        Confidence level of the interval.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    df: int
    level: float


@dataclass(frozen=True, slots=True)
class Difference:
    """Change between two independent estimates (``b − a``).

    Attributes
    ----------
    diff : float
        ``b.estimate − a.estimate``.
    std_error : float
        ``sqrt(se_a² + se_b²)``.
    ci_low, ci_high : float
        t interval on the Welch–Satterthwaite degrees of freedom.
    df : float
        Welch–Satterthwaite degrees of freedom.
    significant : bool
        True only when the interval excludes 0.
    p_value : float
        Two-sided t p-value ``2 P(T_df > |diff| / SE)`` (NaN when not estimable).
    """

    diff: float
    std_error: float
    ci_low: float
    ci_high: float
    df: float
    significant: bool
    p_value: float = NAN


def _beta_quantile(p: float, a: float, b: float) -> float:
    return float(special.betaincinv(a, b, p))


def stratum_codes(strata: StrataLike) -> IntArray:
    """Integer codes ``0 … H−1`` for stratum labels.

    Passing the codes instead of the labels to the estimation functions avoids a sort
    per call when many estimates are made on the same sample.

    Parameters
    ----------
    strata : array_like or sequence of hashable
        Stratum label of every sampled unit: ints, strings or tuples such as
        ``(caseworker, scheme)`` (the labels :func:`tilsyn.stats.sampling.draw_stratified`
        accepts; both read them through :func:`tilsyn.stats.strata.encode_strata`).

    Returns
    -------
    ndarray of int64
        Codes in the order of the sorted distinct labels.
    """
    codes, _labels = encode_strata(strata, compact=True)
    return codes


def _codes(strata: StrataLike, n_units: int) -> tuple[IntArray, int]:
    codes, labels = encode_strata(strata, n_units)
    return codes, len(labels)


@dataclass(frozen=True, slots=True)
class _Linearised:
    estimate: float
    variance: float
    n: int
    df: int


def _linearise(
    y: npt.ArrayLike,
    pi: npt.ArrayLike,
    strata: StrataLike,
    domain: npt.ArrayLike | None,
    *,
    proportion: bool,
    x: npt.ArrayLike | None = None,
) -> _Linearised:
    yv = np.asarray(y, dtype=np.float64)
    if yv.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {yv.shape}")
    n_units = yv.shape[0]
    pv = np.asarray(pi, dtype=np.float64)
    if pv.shape != (n_units,):
        raise ValueError(f"pi must have shape ({n_units},), got {pv.shape}")
    codes, n_strata = _codes(strata, n_units)
    if domain is None:
        idx = None
    else:
        dv = np.asarray(domain)
        if dv.shape != (n_units,):
            raise ValueError(f"domain must have shape ({n_units},), got {dv.shape}")
        if dv.dtype != np.bool_ and (
            dv.dtype.kind not in "iuf" or not np.all((dv == 0) | (dv == 1))
        ):
            raise ValueError("domain must be a boolean mask")
        idx = np.flatnonzero(dv)
    # Everything below works on the domain units only; units outside the domain
    # enter solely through the full-sample stratum sizes n_h (their z is 0).
    y_d = yv if idx is None else yv[idx]
    x_d: FloatArray | None = None
    if x is not None:
        xv = np.asarray(x, dtype=np.float64)
        if xv.shape != (n_units,):
            raise ValueError(f"x must have shape ({n_units},), got {xv.shape}")
        x_d = xv if idx is None else xv[idx]
        if not np.all(np.isfinite(x_d)):
            raise ValueError("x must be finite for every unit in the domain")
    p_d = pv if idx is None else pv[idx]
    c_d = codes if idx is None else codes[idx]
    if not np.all((p_d > 0.0) & (p_d <= 1.0)):
        raise ValueError("pi must lie in (0, 1]")
    if not np.all(np.isfinite(y_d)):
        raise ValueError("y must be finite for every unit in the domain (exclude NaN answers)")
    if proportion and not np.all((y_d >= 0.0) & (y_d <= 1.0)):
        raise ValueError("y must lie in [0, 1] for a proportion")
    n_dom = y_d.shape[0]
    if n_dom == 0:
        return _Linearised(NAN, NAN, 0, 0)
    w = 1.0 / p_d
    total_w = float(w.sum()) if x_d is None else float((w * x_d).sum())
    if total_w == 0.0:
        return _Linearised(NAN, NAN, n_dom, 0)
    est = float((w * y_d).sum()) / total_w
    if proportion:
        est = min(max(est, 0.0), 1.0)
    # Ratio R = Σwy / Σwx (x = 1 for a share or mean): z = w (y − R x) / Σwx.
    z = w * (y_d - est) / total_w if x_d is None else w * (y_d - est * x_d) / total_w
    n_h = np.bincount(codes, minlength=n_strata)
    d_h = np.bincount(c_d, minlength=n_strata)
    sum_h = np.bincount(c_d, weights=z, minlength=n_strata)
    several = n_h > 1
    # stratum mean of z over all its sample units; lonely strata (n_h = 1) are
    # centred at the grand mean of z, which is 0 for the Hájek estimator
    mean_h = np.divide(sum_h, n_h, out=np.zeros(n_strata), where=several)
    dev = z - mean_h[c_d]
    ss_h = np.bincount(c_d, weights=dev * dev, minlength=n_strata)
    ss_h += (n_h - d_h) * mean_h * mean_h  # units outside the domain: z = 0
    scale = np.divide(n_h, n_h - 1, out=np.ones(n_strata), where=several)
    variance = float((scale * ss_h).sum())
    strata_in_domain = int(np.count_nonzero(d_h))
    return _Linearised(est, variance, n_dom, n_dom - strata_in_domain)


def _clopper_pearson(successes: float, trials: int, level: float) -> tuple[float, float]:
    alpha = 1.0 - level
    low = 0.0 if successes <= 0 else _beta_quantile(alpha / 2, successes, trials - successes + 1)
    high = (
        1.0
        if successes >= trials
        else _beta_quantile(1 - alpha / 2, successes + 1, trials - successes)
    )
    return low, high


def estimate_proportion(
    y: npt.ArrayLike,
    pi: npt.ArrayLike,
    strata: StrataLike,
    domain: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Estimate:
    """Estimate a share (e.g. of cases in order) with a Korn–Graubard interval.

    Parameters
    ----------
    y : array_like of float
        Answer per sampled unit, 1 = in order, 0 = not (values in ``[0, 1]``).  Units
        outside the domain may hold NaN (e.g. "not applicable"); units inside may not.
    %(pi)s
    strata : array_like or sequence of hashable
        Stratum label per unit (the full sample, not just the domain): ints, strings or
        tuples such as ``(caseworker, scheme)``.  Integer codes (see :func:`stratum_codes`)
        avoid a sort per call.
    %(domain_level)s

    Returns
    -------
    Estimate
        Hájek share, linearisation SE, Korn–Graubard interval (Clopper–Pearson when the
        estimated variance is 0, e.g. a share of exactly 0 or 1), domain size and design
        degrees of freedom.  See the module docstring for the degenerate cases.

    Raises
    ------
    ValueError
        On inconsistent shapes, π outside ``(0, 1]``, non-finite or out-of-range ``y``
        inside the domain, a non-boolean domain or a level outside ``(0, 1)``.
    """
    lev = check_level(level)
    lin = _linearise(y, pi, strata, domain, proportion=True)
    if lin.n == 0:
        return Estimate(NAN, NAN, NAN, NAN, 0, 0, lev)
    p = lin.estimate
    var = lin.variance
    se = math.sqrt(var)
    if var <= 0.0 or p in (0.0, 1.0):
        low, high = _clopper_pearson(p * lin.n, lin.n, lev)
        return Estimate(p, se, low, high, lin.n, lin.df, lev)
    if lin.df <= 0:
        return Estimate(p, se, NAN, NAN, lin.n, lin.df, lev)
    alpha = 1.0 - lev
    n_eff = p * (1.0 - p) / var
    n_eff *= (t_quantile(alpha / 2, lin.n - 1) / t_quantile(alpha / 2, lin.df)) ** 2
    low = _beta_quantile(alpha / 2, n_eff * p, n_eff * (1.0 - p) + 1.0)
    high = _beta_quantile(1.0 - alpha / 2, n_eff * p + 1.0, n_eff * (1.0 - p))
    return Estimate(p, se, low, high, lin.n, lin.df, lev)


def _t_interval(lin: _Linearised, lev: float) -> Estimate:
    """The estimate ± t_{1−α/2, df}·SE (a NaN interval when ``df ≤ 0``)."""
    se = math.sqrt(lin.variance)
    if lin.df <= 0:
        return Estimate(lin.estimate, se, NAN, NAN, lin.n, lin.df, lev)
    half = t_quantile(1.0 - (1.0 - lev) / 2, lin.df) * se
    return Estimate(lin.estimate, se, lin.estimate - half, lin.estimate + half, lin.n, lin.df, lev)


def estimate_mean(
    y: npt.ArrayLike,
    pi: npt.ArrayLike,
    strata: StrataLike,
    domain: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Estimate:
    """Estimate a mean (e.g. a 1–3 quality score) with a t interval.

    Parameters
    ----------
    y : array_like of float
        Value per sampled unit; may be NaN outside the domain only.
    %(pi)s
    %(strata)s
    %(domain_level)s

    Returns
    -------
    Estimate
        Hájek mean, linearisation SE and ``mean ± t_{1−α/2, df}·SE`` (NaN interval when
        ``df ≤ 0``; all NaN for an empty domain).

    Raises
    ------
    ValueError
        On inconsistent shapes, π outside ``(0, 1]``, non-finite ``y`` inside the
        domain, a non-boolean domain or a level outside ``(0, 1)``.
    """
    lev = check_level(level)
    lin = _linearise(y, pi, strata, domain, proportion=False)
    if lin.n == 0:
        return Estimate(NAN, NAN, NAN, NAN, 0, 0, lev)
    return _t_interval(lin, lev)


def estimate_ratio(
    y: npt.ArrayLike,
    x: npt.ArrayLike,
    pi: npt.ArrayLike,
    strata: StrataLike,
    domain: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Estimate:
    """Estimate a ratio of totals ``R = Σ w y / Σ w x`` with a t interval.

    Used for a theme: per case ``y`` = answers in order and ``x`` = answers in order or
    not in order, so ``R`` is the design-weighted share of answers in order.  Equal to
    R's ``confint(svyratio(~y, ~x, sub), df = degf(sub))`` with ``sub`` the domain's
    design (``subset``).

    Parameters
    ----------
    y, x : array_like of float
        Numerator and denominator per sampled unit; finite inside the domain (may be
        NaN outside it).
    %(pi)s
    %(strata)s
    %(domain_level)s

    Returns
    -------
    Estimate
        Ratio, linearisation SE (``z_i = w_i (y_i − R x_i) / Σ w x`` in the variance
        formula of the module docstring) and ``R ± t_{1−α/2, df}·SE`` on
        ``df = n_d − H_d``.  NaN interval when ``df ≤ 0``; all figures NaN when the
        domain is empty or ``Σ w x = 0``.

    Raises
    ------
    ValueError
        On inconsistent shapes, π outside ``(0, 1]``, non-finite ``y`` or ``x`` inside
        the domain, a non-boolean domain or a level outside ``(0, 1)``.
    """
    lev = check_level(level)
    lin = _linearise(y, pi, strata, domain, proportion=False, x=x)
    if lin.n == 0 or not math.isfinite(lin.estimate):
        return Estimate(NAN, NAN, NAN, NAN, lin.n, lin.df, lev)
    return _t_interval(lin, lev)


def bh_adjust(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (R's ``p.adjust(p, method = "BH")``).

    Parameters
    ----------
    p_values : array_like of float
        Unadjusted p-values in ``[0, 1]``; NaN entries are left out of the family (as R
        does with ``NA``) and stay NaN.

    Returns
    -------
    ndarray of float64
        ``p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j)`` in the input order, with ``m`` the
        number of non-NaN p-values.  A change is flagged when ``p̃ ≤ q``.

    Raises
    ------
    ValueError
        If the input is not one-dimensional or holds values outside ``[0, 1]``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    out = np.full(p.shape, NAN)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    pv = p[ok]
    if np.any((pv < 0.0) | (pv > 1.0)):
        raise ValueError("p-values must lie in [0, 1]")
    m = pv.size
    order = np.argsort(pv, kind="stable")[::-1]  # largest first
    ranks = np.arange(m, 0, -1, dtype=np.float64)
    adjusted = np.minimum(1.0, np.minimum.accumulate(m / ranks * pv[order]))
    res = np.empty(m)
    res[order] = adjusted
    out[ok] = res
    return out


def _effective_se(e: Estimate) -> float:
    """SE used for comparisons; for a zero-variance share, the one implied by its CI.

    A share of exactly 0 or 1 has linearisation SE 0 but a Clopper–Pearson interval of
    positive width; the SE of a normal interval of the same width,
    ``(ci_high − ci_low) / (2 z_{1−α/2})``, is used instead, so that 0 % vs 100 % on a
    handful of cases is not a certain change.
    """
    if e.std_error > 0.0 or not (e.ci_high > e.ci_low):
        return e.std_error
    z = z_quantile(1.0 - (1.0 - e.level) / 2)
    return (e.ci_high - e.ci_low) / (2.0 * z)


def compare(a: Estimate, b: Estimate, level: float = 0.95) -> Difference:
    """Difference ``b − a`` between two independent estimates (e.g. two periods).

    Parameters
    ----------
    a, b : Estimate
        Earlier and later estimate, from independent samples.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Difference
        ``diff = b − a``, ``SE = sqrt(se_a² + se_b²)``, Welch–Satterthwaite degrees of
        freedom ``(v_a + v_b)² / (v_a²/df_a + v_b²/df_b)`` and the t interval.
        ``significant`` is True only when the interval excludes 0.  ``p_value`` is the
        two-sided t p-value ``2 P(T_df > |diff|/SE)`` (R: ``2 * pt(-abs(diff / se),
        df)``; 0 when SE = 0 and diff ≠ 0, 1 when both are 0).  If either estimate
        lacks a finite SE or has ``df ≤ 0`` everything is NaN and ``significant`` is
        False.  Zero-variance shares use the SE implied by their Clopper–Pearson
        interval (see ``_effective_se``).  If both variances are 0 the interval is the
        single point ``diff`` on ``df_a + df_b`` degrees of freedom.
    """
    lev = check_level(level)
    diff = b.estimate - a.estimate
    se_a, se_b = _effective_se(a), _effective_se(b)
    if (
        not (math.isfinite(se_a) and math.isfinite(se_b) and math.isfinite(diff))
        or min(a.df, b.df) <= 0
    ):
        return Difference(diff, NAN, NAN, NAN, NAN, False)
    va, vb = se_a * se_a, se_b * se_b
    se = math.sqrt(va + vb)
    if va + vb == 0.0:
        df = float(a.df + b.df)
    else:
        df = (va + vb) ** 2 / (va * va / a.df + vb * vb / b.df)
    half = t_quantile(1.0 - (1.0 - lev) / 2, df) * se
    low, high = diff - half, diff + half
    if se > 0.0:
        p_value = float(2.0 * special.stdtr(df, -abs(diff) / se))
    else:
        p_value = 0.0 if diff != 0.0 else 1.0
    return Difference(diff, se, low, high, df, bool(low > 0.0 or high < 0.0), p_value)


fill_doc(_DOC, estimate_proportion, estimate_mean, estimate_ratio)
