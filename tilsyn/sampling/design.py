"""Risk-weighted, stratified sample draws that anyone can replay and verify.

A draw is fully determined by its record: the snapshot (its stored case rows, fingerprinted),
the approved risk-model version (its factors, fingerprinted), the design parameters
(:class:`DesignParams`), the caseworker-level facts used (tenure), and the random seed.
:func:`replay` recomputes the selection from the record with the same code path as
:func:`draw_sample`; :func:`verify` compares it with the stored items.

Design (definitions: ``docs/statistics.md``)
--------------------------------------------
* Population: the snapshot's cases (ordered by case reference), optionally restricted to the
  caseworkers of some units, minus excluded case references (e.g. cases sampled in the plan's
  recent rounds), see *Exclusions* below.
* Strata: caseworkers; with ``by_scheme`` caseworker × scheme.
* Allocation: ``per_caseworker`` cases per caseworker, ``new_caseworker`` for caseworkers whose
  tenure at the snapshot date is under ``new_months`` months (unknown tenure counts as not
  new), plus the extra cases the caller gives some caseworkers (the plan's follow-up allowance
  f for caseworkers with an open follow-up action, handed down as plain data and recorded with
  the draw), never more than the caseworker has. With ``by_scheme`` the caseworker's number is split
  over the caseworker's schemes in proportion to the number of cases, with at least one case per
  scheme (so every case keeps a positive inclusion probability and design-based estimates stay
  unbiased); a caseworker carrying more schemes than the number therefore gets one case per
  scheme.
* Size measure x = 1 + λ·risk score; inclusion probabilities proportional to x within each
  stratum with the standard πps capping, selected by :func:`tilsyn.stats.sampling.draw_stratified`.
* Randomness: one NumPy ``Generator`` on the ``PCG64`` bit generator seeded with the recorded seed.
  NumPy guarantees the PCG64 stream, but not every ``Generator`` method, across versions; so the
  NumPy version and the bit generator are recorded with the draw, and a failed verification
  says when the NumPy version differs.

Exclusions
----------
Excluding cases makes the inclusion probabilities conditional on the exclusion: π is the
probability of selection *among the cases not excluded*. Estimates from such a draw (design
weights 1/π) therefore refer to the population without the excluded cases, for that round; the
draw page says so. The number of excluded cases per stratum is recorded with the draw
(``params["excluded_per_stratum"]``). A caseworker all of whose cases would be excluded is not
dropped (every caseworker is represented): for that caseworker nothing is excluded, the full
caseload is the stratum, and the caseworker is recorded in
``params["exclusion_fallback_caseworker_ids"]``. Draws recorded before this rule (no
``params["exclusion_fallback"]``) are replayed with plain exclusion, as they were drawn."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from flask_babel import gettext as _
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.errors import ServiceError
from tilsyn.org.models import Caseworker
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.population import Population, score_population
from tilsyn.schemes import SCHEME_NAMES_DA
from tilsyn.stats import sampling as stats

#: Replayed inclusion probabilities and scores must match the record within this tolerance.
TOLERANCE = 1e-12
#: NumPy bit generator behind :func:`generator` (recorded with every draw).
BIT_GENERATOR = "PCG64"
MAX_PER_STRATUM = 1000


class SamplingError(ServiceError):
    """A user-facing (Danish) refusal."""


@dataclass(frozen=True)
class DesignParams:
    """The sampling design of one draw (the plan's settings).

    ``per_caseworker`` (n) cases per caseworker, ``new_caseworker`` (m) for caseworkers employed
    less than ``new_months`` (k) months at the snapshot date; ``lam`` (λ) is the risk weighting
    strength in the size measure x = 1 + λ·risk score (0 = simple random sampling within
    strata); ``by_scheme`` stratifies by caseworker × scheme, splitting the caseworker's number
    over the schemes (proportional to cases, at least one per scheme).
    """

    per_caseworker: int = 2
    new_caseworker: int = 4
    new_months: int = 6
    lam: float = 1.0
    by_scheme: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DesignParams:
        defaults = cls()
        return cls(
            per_caseworker=int(d.get("per_caseworker", defaults.per_caseworker)),
            new_caseworker=int(d.get("new_caseworker", defaults.new_caseworker)),
            new_months=int(d.get("new_months", defaults.new_months)),
            lam=float(d.get("lam", defaults.lam)),
            by_scheme=bool(d.get("by_scheme", defaults.by_scheme)),
        )

    def problems(self) -> list[str]:
        errs = []
        if not 1 <= self.per_caseworker <= MAX_PER_STRATUM:
            errs.append(
                _("Antal sager pr. sagsbehandler skal være 1–%(max)d.", max=MAX_PER_STRATUM)
            )
        if not 1 <= self.new_caseworker <= MAX_PER_STRATUM:
            errs.append(
                _("Antal sager pr. ny sagsbehandler skal være 1–%(max)d.", max=MAX_PER_STRATUM)
            )
        if not 0 <= self.new_months <= 600:
            errs.append(_("Antal måneder som ny sagsbehandler skal være 0–600."))
        if not math.isfinite(self.lam) or not 0 <= self.lam <= 1000:
            errs.append(_("Risikovægtningen λ skal være et tal fra 0 til 1000."))
        return errs


@dataclass(frozen=True)
class Selection:
    """The result of the design applied to a population (shared by draw and replay)."""

    population: Population  # after restriction and exclusion
    scores: NDArray[np.float64]
    fired: list[list[str]]  # per population case
    strata: NDArray[np.int64]  # stratum index per population case
    stratum_keys: list[tuple[int, str | None]]  # (caseworker id, scheme or None)
    allocation: dict[int, int]  # stratum index -> n
    selected: NDArray[np.int64]  # sorted indices into population
    pi: NDArray[np.float64]  # inclusion probability per selected case
    new_caseworkers: list[int] = field(default_factory=list)
    #: (caseworker id, scheme or None, number of cases excluded), strata with exclusions only.
    excluded_per_stratum: list[tuple[int, str | None, int]] = field(default_factory=list)
    #: Caseworkers all of whose cases were to be excluded, kept whole instead.
    fallback_caseworkers: list[int] = field(default_factory=list)
    #: caseworker id -> the number of cases asked for (before capping at the caseload).
    requested: dict[int, int] = field(default_factory=dict)


def _allocate_over_schemes(n: int, sizes: list[int]) -> list[int]:
    """Split ``n`` over cells proportionally to ``sizes``, at least one per cell, capped."""
    k = len(sizes)
    total = sum(sizes)
    target = min(max(n, k), total)
    alloc = [1] * k
    for _step in range(target - k):
        best, best_gap = -1, -math.inf
        for i in range(k):
            if alloc[i] >= sizes[i]:
                continue
            gap = target * sizes[i] / total - alloc[i]
            if gap > best_gap:
                best, best_gap = i, gap
        alloc[best] += 1
    return alloc


def generator(seed: int) -> np.random.Generator:
    """The random generator of a draw: NumPy's ``Generator`` on ``PCG64`` seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(seed))


def _exclusion_mask(
    population: Population,
    in_scope: NDArray[np.bool_],
    exclude_case_refs: Collection[str],
    by_scheme: bool,
    fallback: bool,
) -> tuple[NDArray[np.bool_], list[tuple[int, str | None, int]], list[int]]:
    """Cases to drop, excluded counts per stratum and the caseworkers kept whole.

    With ``fallback`` a caseworker in scope all of whose cases are excluded keeps every case.
    """
    drop = in_scope & np.isin(population.case_refs.astype(str), sorted(set(exclude_case_refs)))
    cw = population.caseworker_ids
    kept_cases = np.bincount(cw[in_scope & ~drop], minlength=int(cw.max(initial=0)) + 1)
    fallback_ids: list[int] = []
    if fallback:
        fallback_ids = sorted({int(c) for c in cw[drop].tolist() if kept_cases[c] == 0})
        if fallback_ids:
            drop &= ~np.isin(cw, np.array(fallback_ids, dtype=np.int64))
    per_stratum: Counter[tuple[int, str | None]] = Counter(
        (int(c), str(s) if by_scheme else None)
        for c, s in zip(cw[drop].tolist(), population.scheme[drop].tolist(), strict=True)
    )
    counts = [
        (c, s, k)
        for (c, s), k in sorted(per_stratum.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return drop, counts, fallback_ids


def _select(
    population: Population,
    version: RiskModelVersion,
    params: DesignParams,
    caseworker_ids: Collection[int] | None,
    exclude_case_refs: Collection[str],
    seed: int,
    *,
    exclusion_fallback: bool = True,
    extra_cases: Mapping[int, int] | None = None,
) -> Selection:
    scored = score_population(population, version)
    mask = np.ones(len(population), dtype=np.bool_)
    if caseworker_ids is not None:
        mask &= np.isin(population.caseworker_ids, np.array(sorted(caseworker_ids), dtype=np.int64))
    excluded_counts: list[tuple[int, str | None, int]] = []
    fallback_ids: list[int] = []
    if exclude_case_refs:
        drop, excluded_counts, fallback_ids = _exclusion_mask(
            population, mask, exclude_case_refs, params.by_scheme, exclusion_fallback
        )
        mask &= ~drop
    pop = population.subset(mask)
    scores = scored.scores[mask]
    fired_matrix = scored.fired[mask]
    codes = scored.factor_codes
    fired = [[c for c, hit in zip(codes, row, strict=True) if hit] for row in fired_matrix]

    # Stratum keys in a deterministic order: caseworker id, then scheme code.
    cw = pop.caseworker_ids
    scheme = pop.scheme.astype(str)
    if params.by_scheme:
        keys = sorted({(int(c), str(s)) for c, s in zip(cw.tolist(), scheme.tolist(), strict=True)})
        index = {k: i for i, k in enumerate(keys)}
        strata = np.array(
            [index[(int(c), str(s))] for c, s in zip(cw.tolist(), scheme.tolist(), strict=True)],
            dtype=np.int64,
        )
        stratum_keys: list[tuple[int, str | None]] = list(keys)
    else:
        cw_keys = sorted(set(cw.tolist()))
        index_cw = {c: i for i, c in enumerate(cw_keys)}
        strata = np.array([index_cw[c] for c in cw.tolist()], dtype=np.int64)
        stratum_keys = [(c, None) for c in cw_keys]

    tenure = pop.attributes["caseworker_tenure_months"]
    new_caseworkers = sorted(
        {
            int(c)
            for c, t in zip(cw.tolist(), tenure.tolist(), strict=True)
            if not math.isnan(t) and t < params.new_months
        }
    )
    counts = np.bincount(strata, minlength=len(stratum_keys)).tolist()
    allocation: dict[int, int] = {}
    requested: dict[int, int] = {}
    extra = extra_cases or {}
    for cw_id in sorted(set(cw.tolist())):
        n = params.new_caseworker if cw_id in new_caseworkers else params.per_caseworker
        n += int(extra.get(cw_id, 0))
        requested[cw_id] = n
        cells = [i for i, key in enumerate(stratum_keys) if key[0] == cw_id]
        sizes = [counts[i] for i in cells]
        if params.by_scheme:
            for i, a in zip(cells, _allocate_over_schemes(n, sizes), strict=True):
                allocation[i] = a
        else:
            allocation[cells[0]] = min(n, sizes[0])

    size = 1.0 + params.lam * scores
    selected, pi_all = stats.draw_stratified(strata, size, allocation, generator(seed))
    selected = np.asarray(selected, dtype=np.int64)
    pi_all = np.asarray(pi_all, dtype=np.float64)
    pi = pi_all[selected]
    return Selection(
        population=pop,
        scores=scores,
        fired=fired,
        strata=strata,
        stratum_keys=stratum_keys,
        allocation=allocation,
        selected=selected,
        pi=pi,
        new_caseworkers=new_caseworkers,
        excluded_per_stratum=excluded_counts,
        fallback_caseworkers=fallback_ids,
        requested=requested,
    )


def _excluded_record(counts: list[tuple[int, str | None, int]]) -> list[dict[str, Any]]:
    return [{"caseworker_id": c, "scheme": sch, "cases": k} for c, sch, k in counts]


def _initials(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Caseworker.id, Caseworker.initials)).all())


def _stratum_label(key: tuple[int, str | None], initials: Mapping[int, str]) -> str:
    cw_id, scheme = key
    label = initials.get(cw_id, str(cw_id))
    # Stored with the draw: always Danish, whatever the UI language.
    return label if scheme is None else f"{label} / {SCHEME_NAMES_DA.get(scheme, scheme)}"
