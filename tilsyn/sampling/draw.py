"""Drawing a sample: validate the request, select, and record the draw with its items."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Snapshot
from tilsyn.risk.population import load_population
from tilsyn.risk.versions import approved_version, factors_digest
from tilsyn.sampling.design import (
    BIT_GENERATOR,
    MAX_PER_STRATUM,
    DesignParams,
    SamplingError,
    Selection,
    _excluded_record,
    _initials,
    _select,
    _stratum_label,
)
from tilsyn.sampling.models import PURPOSES, Draw, DrawItem, DrawPurpose
from tilsyn.stats import sampling as stats


def size_reasons(
    params: DesignParams, sel: Selection, extra: Mapping[int, tuple[int, str]]
) -> list[dict[str, Any]]:
    """Why each caseworker got the number of cases asked for (Danish: recorded with the draw)."""
    new = set(sel.new_caseworkers)
    out = []
    for cw_id, size in sorted(sel.requested.items()):
        if cw_id in new:
            base = f"ny sagsbehandler (under {params.new_months} mdr.): m = {params.new_caseworker}"
        else:
            base = f"n = {params.per_caseworker}"
        if cw_id in extra:
            k, why = extra[cw_id]
            base += f" + {k} ({why})"
        out.append({"caseworker_id": cw_id, "size": size, "reason": base})
    return out


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
    prior_findings: Mapping[int, float],
    open_actions: Mapping[int, float] | None = None,
    seed: int | None = None,
    unit_ids: Collection[int] | None = None,
    exclude_case_refs: Collection[str] = (),
    purpose: str = DrawPurpose.AD_HOC,
    note: str = "",
    extra_cases: Mapping[int, tuple[int, str]] | None = None,
) -> Draw:
    """Draw, record and audit a sample of ``snapshot`` under the approved risk model.

    ``unit_ids`` restricts the population to the caseworkers of those units (a plan per unit);
    ``exclude_case_refs`` removes cases (e.g. reviewed in recent rounds): the inclusion
    probabilities, and estimates from the draw, then refer to the population without them. A
    caseworker who would lose every case to the exclusion keeps the full caseload instead
    (recorded in ``params["exclusion_fallback_caseworker_ids"]``); the number of excluded cases
    per stratum is recorded in ``params["excluded_per_stratum"]`` (see the module docstring).
    ``seed`` None draws a fresh 128-bit seed. The NumPy version and bit generator are recorded
    too. ``prior_findings`` (caseworker id -> share »ikke i orden« in their latest closed round at
    the snapshot's date, :func:`tilsyn.reviews.findings.prior_findings_by_caseworker`) feeds the
    risk factor of that name and is recorded with the caseworker facts, as is ``open_actions``
    (caseworker id -> follow-up actions open at the snapshot's date). ``extra_cases``
    (caseworker id -> (extra cases, Danish reason)) adds cases for some caseworkers, e.g. the
    plan's follow-up allowance f for caseworkers with an open follow-up action at the
    snapshot's date (:func:`tilsyn.feedback.loop.followup_allowance`); it is recorded in
    ``params["extra_cases"]`` and replayed from there. ``params["caseworker_sizes"]`` records,
    for every caseworker, the number of cases asked for and why. Raises :class:`SamplingError`
    (Danish) for invalid input.
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
    version = approved_version(session)
    if version is None:
        raise SamplingError(
            _(
                "Der er ingen godkendt risikomodel. En teamleder eller administrator skal "
                "godkende risikovurderingen, før der kan trækkes stikprøver."
            )
        )
    population = load_population(
        session, snapshot, prior_findings=prior_findings, open_actions=open_actions
    )
    if len(population) == 0:
        raise SamplingError(_("Sagsudtrækket indeholder ingen sager."))
    caseworker_ids: list[int] | None = None
    if unit_ids is not None:
        in_units = np.isin(population.unit_ids, np.array(sorted(set(unit_ids)), dtype=np.int64))
        caseworker_ids = sorted({int(c) for c in population.caseworker_ids[in_units].tolist()})
        if not caseworker_ids:
            raise SamplingError(_("Der er ingen sager hos sagsbehandlerne i de valgte enheder."))
    excluded = sorted({str(r) for r in exclude_case_refs})
    extra = {int(c): (int(k), str(why)) for c, (k, why) in (extra_cases or {}).items() if k}
    if any(not 0 < k <= MAX_PER_STRATUM for k, _why in extra.values()):
        raise SamplingError(
            _("Ekstra sager pr. sagsbehandler skal være 1–%(max)d.", max=MAX_PER_STRATUM)
        )
    seed = new_seed() if seed is None else int(seed)
    sel = _select(
        population,
        version,
        params,
        caseworker_ids,
        excluded,
        seed,
        extra_cases={c: k for c, (k, _why) in extra.items()},
    )
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
    record["extra_cases"] = [
        {"caseworker_id": c, "extra": k, "reason": why} for c, (k, why) in sorted(extra.items())
    ]
    record["caseworker_sizes"] = size_reasons(params, sel, extra)
    record["numpy_version"] = np.__version__
    record["bit_generator"] = BIT_GENERATOR
    draw = Draw(
        snapshot_id=snapshot.id,
        snapshot_sha256=snapshot.sha256,
        population_sha256=population.rows_digest,
        risk_model_version_id=version.id,
        factors_sha256=factors_digest(version.factors),
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
