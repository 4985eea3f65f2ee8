"""Replaying a draw from its record and verifying it against the stored items."""

from __future__ import annotations

from dataclasses import dataclass

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
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.population import Population, load_population
from tilsyn.risk.versions import factors_digest
from tilsyn.sampling.design import (
    BIT_GENERATOR,
    TOLERANCE,
    DesignParams,
    SamplingError,
    Selection,
    _excluded_record,
    _select,
)
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.stats import sampling as stats


def _replay_selection(session: Session, draw: Draw) -> tuple[Population, Selection]:
    snapshot = session.get(Snapshot, draw.snapshot_id)
    version = session.get(RiskModelVersion, draw.risk_model_version_id)
    if snapshot is None or version is None:
        raise SamplingError(_("Sagsudtrækket eller risikomodellen findes ikke længere."))
    # The caseworker facts (tenure, prior findings) come from the record, not from today's
    # reviews, so no prior findings are loaded.
    population = load_population(session, snapshot, prior_findings={}).with_caseworker_facts(
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
        extra_cases={
            int(e["caseworker_id"]): int(e["extra"]) for e in draw.params.get("extra_cases") or []
        },
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
    if factors_digest(version.factors) != draw.factors_sha256:
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
        # (stored, replayed, its message given the values); lazy messages, rendered if shown.
        numbers = (
            (
                it.inclusion_probability,
                r[2],
                lambda **v: _l(
                    "Sag %(ref)s: gemt π = %(stored)s, genberegnet π = %(replayed)s.", **v
                ),
            ),
            (
                it.risk_score,
                r[3],
                lambda **v: _l(
                    "Sag %(ref)s: gemt risikoscore = %(stored)s, genberegnet = %(replayed)s.", **v
                ),
            ),
        )
        diffs += [
            message(ref=it.case_ref, stored=repr(stored), replayed=repr(again))
            for stored, again, message in numbers
            if abs(stored - again) > TOLERANCE
        ]
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
