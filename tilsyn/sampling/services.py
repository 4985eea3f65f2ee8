"""Risk-weighted, stratified sample draws that anyone can replay and verify.

A draw is fully determined by its record: the snapshot (its stored case rows, fingerprinted),
the approved risk-model version (its factors, fingerprinted), the design parameters
(:class:`DesignParams`), the caseworker-level facts used (tenure), and the random seed.
:func:`replay` recomputes the selection from the record with the same code path as
:func:`draw_sample`; :func:`verify` compares it with the stored items.

Design (see BRIEF §5)
---------------------
* Population: the snapshot's cases (ordered by case reference), optionally restricted to the
  caseworkers of some units, minus excluded case references (e.g. cases sampled in the plan's
  recent rounds), see *Exclusions* below.
* Strata: caseworkers; with ``by_scheme`` caseworker × scheme.
* Allocation: ``per_caseworker`` cases per caseworker, ``new_caseworker`` for caseworkers whose
  tenure at the snapshot date is under ``new_months`` months (unknown tenure counts as not
  new), never more than the caseworker has. With ``by_scheme`` the caseworker's number is split
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
``params["exclusion_fallback"]``) are replayed with plain exclusion, as they were drawn.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Snapshot
from tilsyn.errors import ServiceError
from tilsyn.org.models import Caseworker
from tilsyn.permissions import draw_item_filter
from tilsyn.risk import services as risk
from tilsyn.risk.models import RiskModelVersion
from tilsyn.sampling.models import PURPOSES, Draw, DrawItem
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

    population: risk.Population  # after restriction and exclusion
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
    population: risk.Population,
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
    population: risk.Population,
    version: RiskModelVersion,
    params: DesignParams,
    caseworker_ids: Collection[int] | None,
    exclude_case_refs: Collection[str],
    seed: int,
    *,
    exclusion_fallback: bool = True,
) -> Selection:
    scored = risk.score_population(population, version)
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
    for cw_id in sorted(set(cw.tolist())):
        n = params.new_caseworker if cw_id in new_caseworkers else params.per_caseworker
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


def new_seed() -> int:
    """A fresh 128-bit seed from the operating system's entropy."""
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)
    return entropy


def draw_sample(
    session: Session,
    actor: User | None,
    snapshot: Snapshot,
    params: DesignParams,
    *,
    seed: int | None = None,
    unit_ids: Collection[int] | None = None,
    exclude_case_refs: Collection[str] = (),
    purpose: str = "ad hoc",
    note: str = "",
) -> Draw:
    """Draw, record and audit a sample of ``snapshot`` under the approved risk model.

    ``unit_ids`` restricts the population to the caseworkers of those units (a plan per unit);
    ``exclude_case_refs`` removes cases (e.g. reviewed in recent rounds): the inclusion
    probabilities, and estimates from the draw, then refer to the population without them. A
    caseworker who would lose every case to the exclusion keeps the full caseload instead
    (recorded in ``params["exclusion_fallback_caseworker_ids"]``); the number of excluded cases
    per stratum is recorded in ``params["excluded_per_stratum"]`` (see the module docstring).
    ``seed`` None draws a fresh 128-bit seed. The NumPy version and bit generator are recorded
    too. Raises :class:`SamplingError` (Danish) for invalid input.
    """
    problems = params.problems()
    if problems:
        raise SamplingError(" ".join(problems))
    if purpose not in PURPOSES:
        raise SamplingError(_("Ukendt formål »%(purpose)s«.", purpose=purpose))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise SamplingError(
            _("Startværdien (seed) skal være et helt tal større end eller lig med 0.")
        )
    if seed is not None and seed.bit_length() > 128:
        raise SamplingError(_("Startværdien (seed) må højst være 128 bit."))
    version = risk.approved_version(session)
    if version is None:
        raise SamplingError(
            _(
                "Der er ingen godkendt risikomodel. En teamleder eller administrator skal "
                "godkende risikovurderingen, før der kan trækkes stikprøver."
            )
        )
    population = risk.load_population(session, snapshot)
    if len(population) == 0:
        raise SamplingError(_("Sagsudtrækket indeholder ingen sager."))
    caseworker_ids: list[int] | None = None
    if unit_ids is not None:
        in_units = np.isin(population.unit_ids, np.array(sorted(set(unit_ids)), dtype=np.int64))
        caseworker_ids = sorted({int(c) for c in population.caseworker_ids[in_units].tolist()})
        if not caseworker_ids:
            raise SamplingError(_("Der er ingen sager hos sagsbehandlerne i de valgte enheder."))
    excluded = sorted({str(r) for r in exclude_case_refs})
    seed = new_seed() if seed is None else int(seed)
    sel = _select(population, version, params, caseworker_ids, excluded, seed)
    if sel.selected.shape[0] == 0:
        raise SamplingError(_("Der er ingen sager tilbage at trække efter udelukkelserne."))

    record: dict[str, Any] = dict(params.to_dict())
    record["unit_ids"] = sorted(set(unit_ids)) if unit_ids is not None else None
    record["caseworker_ids"] = caseworker_ids
    record["exclude_case_refs"] = excluded
    record["exclusion_fallback"] = True
    record["excluded_per_stratum"] = _excluded_record(sel.excluded_per_stratum)
    record["exclusion_fallback_caseworker_ids"] = sel.fallback_caseworkers
    record["new_caseworker_ids"] = sel.new_caseworkers
    record["numpy_version"] = np.__version__
    record["bit_generator"] = BIT_GENERATOR
    draw = Draw(
        snapshot_id=snapshot.id,
        snapshot_sha256=snapshot.sha256,
        population_sha256=population.rows_digest,
        risk_model_version_id=version.id,
        factors_sha256=risk.factors_digest(version.factors),
        params=record,
        caseworker_facts=population.caseworker_facts(),
        algorithm=stats.ALGORITHM,
        algorithm_version=str(stats.ALGORITHM_VERSION),
        seed=str(seed),
        created_by_id=actor.id if actor is not None else None,
        created_by_name=actor.username if actor is not None else audit.SYSTEM_ACTOR,
        purpose=purpose,
        note=(note or "").strip(),
        sample_size=int(sel.selected.shape[0]),
        population_size=len(sel.population),
    )
    session.add(draw)
    initials = _initials(session)
    pop = sel.population
    for order, (i, pi) in enumerate(zip(sel.selected.tolist(), sel.pi.tolist(), strict=True), 1):
        session.add(
            DrawItem(
                draw=draw,
                case_id=int(pop.case_ids[i]),
                case_ref=str(pop.case_refs[i]),
                caseworker_id=int(pop.caseworker_ids[i]),
                unit_id=int(pop.unit_ids[i]) if int(pop.unit_ids[i]) >= 0 else None,
                scheme=str(pop.scheme[i]),
                stratum=_stratum_label(sel.stratum_keys[int(sel.strata[i])], initials),
                risk_score=float(sel.scores[i]),
                inclusion_probability=float(pi),
                factors=sel.fired[i],
                order=order,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "draw",
        "draw",
        draw.id,
        f"Stikprøve {draw.id}: {draw.sample_size} af {draw.population_size} sager "
        f"(sagsudtræk {snapshot.id}, risikomodel version {version.number})",
        {
            "snapshot_id": snapshot.id,
            "risk_model_version": version.number,
            "seed": draw.seed,
            "params": params.to_dict(),
            "sample_size": draw.sample_size,
        },
    )
    return draw


def _replay_selection(session: Session, draw: Draw) -> tuple[risk.Population, Selection]:
    snapshot = session.get(Snapshot, draw.snapshot_id)
    version = session.get(RiskModelVersion, draw.risk_model_version_id)
    if snapshot is None or version is None:
        raise SamplingError(_("Sagsudtrækket eller risikomodellen findes ikke længere."))
    population = risk.load_population(session, snapshot).with_caseworker_facts(
        draw.caseworker_facts
    )
    params = DesignParams.from_dict(draw.params)
    cw_ids = draw.params.get("caseworker_ids")
    sel = _select(
        population,
        version,
        params,
        None if cw_ids is None else [int(c) for c in cw_ids],
        [str(r) for r in draw.params.get("exclude_case_refs") or []],
        int(draw.seed),
        exclusion_fallback=bool(draw.params.get("exclusion_fallback", False)),
    )
    return population, sel


def replay(session: Session, draw: Draw) -> tuple[list[int], NDArray[np.float64]]:
    """Recompute the draw from its record: ``(case ids in draw order, inclusion probabilities)``."""
    _, sel = _replay_selection(session, draw)
    case_ids = [int(sel.population.case_ids[i]) for i in sel.selected.tolist()]
    return case_ids, sel.pi


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`, with the NumPy facts the replay depends on.

    ``numpy_recorded`` and ``bit_generator`` are None for draws recorded before they were.
    """

    ok: bool
    #: What differs, in the UI language (Danish outside a request).
    differences: list[str]
    numpy_recorded: str | None = None
    numpy_now: str = np.__version__
    bit_generator: str | None = None
    #: The same differences in Danish, for the audit log (None: ``differences`` are Danish).
    recorded_differences: list[str] | None = None

    @property
    def numpy_differs(self) -> bool:
        return self.numpy_recorded is not None and self.numpy_recorded != self.numpy_now


def numpy_facts(draw: Draw) -> tuple[str | None, str | None]:
    """``(NumPy version, bit generator)`` recorded with ``draw`` (None if not recorded)."""
    version = draw.params.get("numpy_version")
    bitgen = draw.params.get("bit_generator")
    return (
        None if version is None else str(version),
        None if bitgen is None else str(bitgen),
    )


def _stored_items(session: Session, draw: Draw) -> list[DrawItem]:
    return list(
        session.scalars(
            select(DrawItem)
            .where(DrawItem.draw_id == draw.id)
            .order_by(DrawItem.order)
            .execution_options(populate_existing=True)
        )
    )


def verify(session: Session, draw: Draw) -> VerifyResult:
    """Replay the draw from its record and compare with the stored sample (tolerance 1e-12).

    When the replay differs and the draw was made with another NumPy version than the one
    running now, the last difference says so (the selection depends on NumPy's generator).
    """
    numpy_recorded, bitgen = numpy_facts(draw)
    diffs = _differences(session, draw, bitgen)
    if diffs and numpy_recorded is not None and numpy_recorded != np.__version__:
        diffs.append(
            _l(
                "Stikprøven blev trukket med NumPy %(recorded)s, men genberegningen kører med "
                "NumPy %(now)s. Afvigelsen kan skyldes NumPy-versionen; genberegn med "
                "NumPy %(recorded)s for at kontrollere stikprøven.",
                recorded=numpy_recorded,
                now=np.__version__,
            )
        )
    shown = [str(d) for d in diffs]
    with force_locale("da"):
        danish = [str(d) for d in diffs]
    return VerifyResult(not diffs, shown, numpy_recorded, np.__version__, bitgen, danish)


def _joined(parts: list[LazyString]) -> str:
    return " ".join(str(p) for p in parts)


def _differences(session: Session, draw: Draw, bitgen: str | None) -> list[LazyString]:
    """What differs between the record and a replay; lazy texts, rendered by the caller."""
    diffs: list[LazyString] = []
    snapshot = session.get(Snapshot, draw.snapshot_id)
    version = session.get(RiskModelVersion, draw.risk_model_version_id)
    if snapshot is None or version is None:
        return [_l("Sagsudtrækket eller risikomodellen findes ikke længere.")]
    if bitgen is not None and bitgen != BIT_GENERATOR:
        diffs.append(
            _l(
                "Stikprøven blev trukket med bitgeneratoren %(recorded)s, men genberegningen "
                "bruger %(now)s.",
                recorded=bitgen,
                now=BIT_GENERATOR,
            )
        )
    if snapshot.sha256 != draw.snapshot_sha256:
        diffs.append(_l("Sagsudtrækkets filfingeraftryk (SHA-256) er ændret siden trækningen."))
    if risk.factors_digest(version.factors) != draw.factors_sha256:
        diffs.append(
            _l("Faktorerne i risikomodel version %(number)s er ændret.", number=version.number)
        )
    if str(stats.ALGORITHM_VERSION) != draw.algorithm_version:
        diffs.append(
            _l(
                "Udvælgelsesalgoritmen er version %(now)s, men stikprøven blev trukket med "
                "version %(recorded)s.",
                now=stats.ALGORITHM_VERSION,
                recorded=draw.algorithm_version,
            )
        )
    try:
        population, sel = _replay_selection(session, draw)
    except (SamplingError, ValueError, KeyError) as exc:
        return [*diffs, _l("Genberegningen kunne ikke gennemføres: %(error)s", error=exc)]
    if population.rows_digest != draw.population_sha256:
        diffs.append(_l("Sagerne i sagsudtrækket er ændret siden trækningen."))
    items = _stored_items(session, draw)
    pop = sel.population
    replayed = [
        (int(pop.case_ids[i]), str(pop.case_refs[i]), float(pi), float(sel.scores[i]))
        for i, pi in zip(sel.selected.tolist(), sel.pi.tolist(), strict=True)
    ]
    if len(items) != draw.sample_size:
        diffs.append(
            _l(
                "Der er %(stored)s gemte sager, men stikprøven angiver %(size)s.",
                stored=len(items),
                size=draw.sample_size,
            )
        )
    if len(pop) != draw.population_size:
        diffs.append(
            _l(
                "Populationen har nu %(now)s sager, men havde %(then)s ved trækningen.",
                now=len(pop),
                then=draw.population_size,
            )
        )
    stored_ids = [it.case_id for it in items]
    replay_ids = [r[0] for r in replayed]
    if stored_ids != replay_ids:
        missing = sorted({r[1] for r in replayed if r[0] not in set(stored_ids)})
        extra = sorted({it.case_ref for it in items if it.case_id not in set(replay_ids)})
        parts = [_l("Genberegningen udvælger andre sager.")]
        if missing:
            parts.append(_l("Kun i genberegningen: %(refs)s.", refs=", ".join(missing)))
        if extra:
            parts.append(_l("Kun i den gemte stikprøve: %(refs)s.", refs=", ".join(extra)))
        diffs.append(LazyString(_joined, parts))
    by_id = {r[0]: r for r in replayed}
    for it in items:
        r = by_id.get(it.case_id)
        if r is None:
            continue
        if abs(it.inclusion_probability - r[2]) > TOLERANCE:
            diffs.append(
                _l(
                    "Sag %(ref)s: gemt π = %(stored)s, genberegnet π = %(replayed)s.",
                    ref=it.case_ref,
                    stored=repr(it.inclusion_probability),
                    replayed=repr(r[2]),
                )
            )
        if abs(it.risk_score - r[3]) > TOLERANCE:
            diffs.append(
                _l(
                    "Sag %(ref)s: gemt risikoscore = %(stored)s, genberegnet = %(replayed)s.",
                    ref=it.case_ref,
                    stored=repr(it.risk_score),
                    replayed=repr(r[3]),
                )
            )
        if it.case_ref != r[1]:
            diffs.append(
                _l(
                    "Sag %(id)s: gemt sags-ID %(stored)s, i sagsudtrækket %(snapshot)s.",
                    id=it.case_id,
                    stored=it.case_ref,
                    snapshot=r[1],
                )
            )
    recorded_excluded = draw.params.get("excluded_per_stratum")
    if recorded_excluded is not None and recorded_excluded != _excluded_record(
        sel.excluded_per_stratum
    ):
        diffs.append(_l("Antallet af udelukkede sager pr. stratum afviger fra registreringen."))
    recorded_fallback = draw.params.get("exclusion_fallback_caseworker_ids")
    if recorded_fallback is not None and recorded_fallback != sel.fallback_caseworkers:
        diffs.append(
            _l(
                "Sagsbehandlerne, hvis udelukkelse blev opgivet (alle sager udelukket), afviger "
                "fra registreringen."
            )
        )
    return diffs


def record_verification(
    session: Session, actor: User | None, draw: Draw, result: VerifyResult
) -> None:
    audit.record(
        session,
        actor,
        "verify",
        "draw",
        draw.id,
        f"Kontrol af stikprøve {draw.id}: " + ("identisk" if result.ok else "afvigelser"),
        {
            "ok": result.ok,
            "differences": (
                result.differences
                if result.recorded_differences is None
                else result.recorded_differences
            )[:50],
            "numpy_recorded": result.numpy_recorded,
            "numpy_now": result.numpy_now,
        },
    )


# --------------------------------------------------------------------------------------------
# Reading draws (row-scoped, audited)
# --------------------------------------------------------------------------------------------


def snapshot_options(session: Session) -> list[tuple[int, str]]:
    """Snapshots to draw from, newest first, as (id, label in the current UI language)."""
    rows = session.scalars(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc()))
    return [
        (
            s.id,
            _(
                "%(date)s – %(file)s (%(n)s sager, nr. %(id)s)",
                date=f"{s.as_of:%d-%m-%Y}",
                file=s.source_filename,
                n=s.row_count,
                id=s.id,
            ),
        )
        for s in rows
    ]


def list_draws(session: Session) -> list[Draw]:
    """Draw records (metadata only), newest first."""
    return list(session.scalars(select(Draw).order_by(Draw.created_at.desc(), Draw.id.desc())))


def visible_items(session: Session, actor: User | None, draw: Draw) -> list[DrawItem]:
    return list(
        session.scalars(
            select(DrawItem)
            .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
            .where(DrawItem.draw_id == draw.id, draw_item_filter(actor))
            .order_by(Caseworker.initials, DrawItem.stratum, DrawItem.case_ref)
        )
    )


@dataclass(frozen=True)
class CaseworkerSample:
    initials: str
    name: str
    unit: str
    new: bool
    items: list[DrawItem]
    #: Cases of this caseworker excluded from the population (recorded draws only).
    excluded: int = 0
    #: Every case was to be excluded, so the full caseload was used instead.
    fallback: bool = False


@dataclass(frozen=True)
class DrawView:
    draw: Draw
    groups: list[CaseworkerSample]
    visible: int
    hidden: int
    #: Cases excluded from the population (None: not recorded, a draw from before the count).
    excluded: int | None = None
    #: Initials of the caseworkers kept whole because all their cases were to be excluded.
    fallback_initials: list[str] = field(default_factory=list)
    numpy_version: str | None = None
    bit_generator: str | None = None


def excluded_by_caseworker(draw: Draw) -> dict[int, int] | None:
    """Excluded cases per caseworker from the record (None for draws recorded before)."""
    recorded = draw.params.get("excluded_per_stratum")
    if recorded is None:
        return None
    out: dict[int, int] = {}
    for entry in recorded:
        cw_id = int(entry["caseworker_id"])
        out[cw_id] = out.get(cw_id, 0) + int(entry["cases"])
    return out


def draw_view(session: Session, actor: User | None, draw: Draw) -> DrawView:
    """The draw record and the sample per caseworker the actor may see (audited view)."""
    items = visible_items(session, actor, draw)
    new_ids = set(draw.params.get("new_caseworker_ids") or [])
    fallback_ids = [int(c) for c in draw.params.get("exclusion_fallback_caseworker_ids") or []]
    excluded = excluded_by_caseworker(draw)
    groups: list[CaseworkerSample] = []
    for it in items:
        if not groups or groups[-1].initials != it.caseworker.initials:
            cw = it.caseworker
            groups.append(
                CaseworkerSample(
                    cw.initials,
                    cw.name,
                    cw.unit.name,
                    cw.id in new_ids,
                    [],
                    excluded=(excluded or {}).get(cw.id, 0),
                    fallback=cw.id in fallback_ids,
                )
            )
        groups[-1].items.append(it)
    initials = _initials(session)
    numpy_version, bit_generator = numpy_facts(draw)
    audit.record(
        session,
        actor,
        "view",
        "draw",
        draw.id,
        f"Viste {len(items)} af {draw.sample_size} udtrukne sager i stikprøve {draw.id}",
    )
    return DrawView(
        draw,
        groups,
        len(items),
        draw.sample_size - len(items),
        excluded=None if excluded is None else sum(excluded.values()),
        fallback_initials=sorted(initials.get(c, str(c)) for c in fallback_ids),
        numpy_version=numpy_version,
        bit_generator=bit_generator,
    )


CSV_COLUMNS = ("case_ref", "caseworker", "scheme", "stratum", "risk_score", "inclusion_probability")


def _csv_number(x: float) -> str:
    """Full precision (round-trips exactly) with a Danish decimal comma."""
    return repr(float(x)).replace(".", ",")


#: Media type of :func:`export_csv`'s bytes.
CSV_MIMETYPE = "text/csv; charset=utf-8"


def export_csv(session: Session, actor: User | None, draw: Draw) -> bytes:
    """The sample as a CSV file for Danish Excel, audited; the web download and
    ``tilsyn sample export`` both write exactly these bytes.

    UTF-8 with a byte-order mark (so Excel reads æøå), ``;`` separator, decimal comma, CRLF line
    ends. Columns: case_ref, caseworker, scheme, stratum, risk_score, inclusion_probability (full
    precision, so the numbers round-trip to the record exactly). Rows are the cases the actor
    may see, in caseworker order.
    """
    items = visible_items(session, actor, draw)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for it in items:
        writer.writerow(
            [
                it.case_ref,
                it.caseworker.initials,
                it.scheme,
                it.stratum,
                _csv_number(it.risk_score),
                _csv_number(it.inclusion_probability),
            ]
        )
    audit.record(
        session,
        actor,
        "export",
        "draw",
        draw.id,
        f"Eksporterede {len(items)} udtrukne sager fra stikprøve {draw.id} som CSV",
    )
    return out.getvalue().encode("utf-8")
