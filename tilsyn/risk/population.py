"""The population a risk model scores: a snapshot's cases with their derived attributes.

:func:`load_population` reads the columns the risk model needs in one SELECT and derives the
attributes of :data:`tilsyn.risk.rules.ATTRIBUTES` vectorised, at the snapshot's ``as_of`` date:

* ``weeks_open`` = (as_of − start date) / 7
* ``days_since_conversation`` = as_of − last conversation (NaN if none recorded)
* ``days_to_reassessment`` = reassessment due − as_of (negative = overdue; NaN if no deadline)
* ``caseworker_tenure_months`` = (as_of − employment start) / 30.4375, floored at 0
  (NaN if the employment start is unknown)
* ``caseworker_caseload`` = the caseworker's number of cases in the whole snapshot
* ``prior_findings`` = share of answers »ikke i orden« among the in-order/not-in-order answers of
  the caseworker's completed reviews in their latest *closed* round starting on or before as_of
  (NaN if the caseworker has none). A raw per-caseworker share: a risk signal, not an estimate.
  It is computed in :mod:`tilsyn.reviews.findings` (reviews sit above risk) and handed in by the
  caller as ``prior_findings``. Draws record it with the other caseworker facts, so a replay
  does not depend on later reviews.
* ``open_followup_actions`` = the number of follow-up actions (*opfølgningspunkter*) open on the
  caseworker at as_of: created on or before as_of and not yet approved or cancelled then
  (:func:`tilsyn.feedback.loop.open_action_counts`, feedback sits above risk, so the caller hands
  it in as ``open_actions``; a caseworker missing from it has 0, and NaN when the caller has no
  counts at all). Recorded with the caseworker facts of a draw like ``prior_findings``.
* ``job_goal``, ``cv_on_jobnet`` = 1/0 (NaN unknown); counts as numbers (NaN unknown)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker
from tilsyn.risk import rules
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.versions import factors_of

#: Days per month used for tenure (same as tilsyn.org.services.tenure_months).
DAYS_PER_MONTH = 30.4375
#: Attributes that are the same for all of a caseworker's cases.
CASEWORKER_ATTRIBUTES = ("caseworker_tenure_months", "prior_findings", "open_followup_actions")


@dataclass(frozen=True)
class Population:
    """A snapshot's cases (ordered by case reference) with their derived risk attributes."""

    as_of: date
    case_ids: NDArray[np.int64]
    case_refs: NDArray[np.object_]
    caseworker_ids: NDArray[np.int64]
    unit_ids: NDArray[np.int64]  # the case's unit, else the caseworker's unit
    scheme: NDArray[np.object_]
    attributes: dict[str, NDArray[Any]]
    rows_digest: str = field(default="")

    def __len__(self) -> int:
        return int(self.case_ids.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> Population:
        return replace(
            self,
            case_ids=self.case_ids[mask],
            case_refs=self.case_refs[mask],
            caseworker_ids=self.caseworker_ids[mask],
            unit_ids=self.unit_ids[mask],
            scheme=self.scheme[mask],
            attributes={k: v[mask] for k, v in self.attributes.items()},
        )

    def caseworker_facts(self) -> dict[str, dict[str, float | None]]:
        """Caseworker-level attributes (not part of the snapshot), for recording with a draw."""
        facts: dict[str, dict[str, float | None]] = {}
        ids, first = np.unique(self.caseworker_ids, return_index=True)
        for cw_id, i in zip(ids.tolist(), first.tolist(), strict=True):
            facts[str(cw_id)] = {
                name: (None if math.isnan(v) else v)
                for name in CASEWORKER_ATTRIBUTES
                for v in (float(self.attributes[name][i]),)
            }
        return facts

    def with_caseworker_facts(self, facts: Mapping[str, Mapping[str, float | None]]) -> Population:
        """The same cases with caseworker-level attributes taken from a record."""
        attributes = dict(self.attributes)
        for name in CASEWORKER_ATTRIBUTES:
            lookup = {
                int(cw): (np.nan if values.get(name) is None else float(values[name]))  # type: ignore[arg-type]
                for cw, values in facts.items()
            }
            attributes[name] = np.array(
                [lookup.get(int(cw), np.nan) for cw in self.caseworker_ids.tolist()],
                dtype=np.float64,
            )
        return replace(self, attributes=attributes)


def _days_between(
    later: NDArray[np.datetime64], earlier: NDArray[np.datetime64]
) -> NDArray[np.float64]:
    delta = (later - earlier).astype("timedelta64[D]").astype(np.float64)
    delta[np.isnat(later) | np.isnat(earlier)] = np.nan
    return delta


def _digest_rows(rows: Sequence[Sequence[Any]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps([None if v is None else str(v) for v in row]).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def load_population(
    session: Session,
    snapshot: Snapshot,
    case_ids: Collection[int] | None = None,
    *,
    prior_findings: Mapping[int, float],
    open_actions: Mapping[int, float] | None = None,
) -> Population:
    """One SELECT of the snapshot's cases (ordered by case reference) and derived attributes.

    ``case_ids`` restricts the rows returned; caseloads still count the whole snapshot.
    ``prior_findings`` maps a caseworker id to the share »ikke i orden« in their latest closed
    round (:func:`tilsyn.reviews.findings.prior_findings_by_caseworker` at the snapshot's
    ``as_of``); caseworkers missing from it get NaN.
    ``rows_digest`` is a SHA-256 of the stored case rows (not of the caseworker data), so a
    later change to the rows can be detected.
    """
    stmt = (
        select(
            Case.id,
            Case.case_ref,
            Case.caseworker_id,
            func.coalesce(Case.unit_id, Caseworker.unit_id),
            Case.scheme,
            Case.start_date,
            Case.last_conversation,
            Case.conversations_12m,
            Case.reassessment_due,
            Case.caseworker_changes_12m,
            Case.job_goal,
            Case.cv_on_jobnet,
            Caseworker.employment_start,
        )
        .join(Caseworker, Case.caseworker_id == Caseworker.id)
        .where(Case.snapshot_id == snapshot.id)
        .order_by(Case.case_ref)
    )
    if case_ids is not None:
        stmt = stmt.where(Case.id.in_(sorted({int(i) for i in case_ids})))
    # Sorted again in Python: code-point order of the case reference, whatever the database's
    # collation, so a replay gives the same population order on SQLite and PostgreSQL.
    rows = sorted(session.execute(stmt).all(), key=lambda row: row[1])
    n = len(rows)
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if n else [() for _ in range(13)]
    as_of = np.datetime64(snapshot.as_of, "D")

    def dates(i: int) -> NDArray[np.datetime64]:
        return np.array(cols[i], dtype="datetime64[D]").reshape(n)

    def numbers(i: int) -> NDArray[np.float64]:
        return np.array(cols[i], dtype=np.float64).reshape(n)

    caseworker_ids = np.array(cols[2], dtype=np.int64).reshape(n)
    if case_ids is None:
        cw_unique, cw_counts = np.unique(caseworker_ids, return_counts=True)
        caseload_of = dict(zip(cw_unique.tolist(), cw_counts.tolist(), strict=True))
    else:
        caseload_of = dict(
            session.execute(
                select(Case.caseworker_id, func.count(Case.id))
                .where(Case.snapshot_id == snapshot.id)
                .group_by(Case.caseworker_id)
            ).all()
        )
    tenure = _days_between(np.full(n, as_of), dates(12)) / DAYS_PER_MONTH
    tenure = np.where(np.isnan(tenure), np.nan, np.maximum(tenure, 0.0))
    attributes: dict[str, NDArray[Any]] = {
        "weeks_open": _days_between(np.full(n, as_of), dates(5)) / 7.0,
        "days_since_conversation": _days_between(np.full(n, as_of), dates(6)),
        "conversations_12m": numbers(7),
        "days_to_reassessment": _days_between(dates(8), np.full(n, as_of)),
        "caseworker_changes_12m": numbers(9),
        "job_goal": numbers(10),
        "cv_on_jobnet": numbers(11),
        "caseworker_tenure_months": tenure,
        "caseworker_caseload": np.array(
            [caseload_of.get(c, 0) for c in caseworker_ids.tolist()], dtype=np.float64
        ),
        "prior_findings": np.array(
            [prior_findings.get(c, math.nan) for c in caseworker_ids.tolist()], dtype=np.float64
        ).reshape(n),
        "open_followup_actions": np.array(
            [
                math.nan if open_actions is None else float(open_actions.get(c, 0))
                for c in caseworker_ids.tolist()
            ],
            dtype=np.float64,
        ).reshape(n),
        "scheme": np.array(cols[4], dtype=object).reshape(n),
    }
    return Population(
        as_of=snapshot.as_of,
        case_ids=np.array(cols[0], dtype=np.int64).reshape(n),
        case_refs=np.array(cols[1], dtype=object).reshape(n),
        caseworker_ids=caseworker_ids,
        unit_ids=np.array([-1 if u is None else u for u in cols[3]], dtype=np.int64).reshape(n),
        scheme=attributes["scheme"],
        attributes=attributes,
        rows_digest=_digest_rows([row[:12] for row in rows]),
    )


@dataclass(frozen=True)
class ScoredPopulation:
    """Scores of a population under one version; every array is aligned with the population's
    ``case_ids`` (its columns are read through ``population``)."""

    population: Population
    version_id: int
    scores: NDArray[np.float64]
    fired: NDArray[np.bool_]  # (cases, factors)
    factor_codes: tuple[str, ...]

    def fired_codes(self, i: int) -> list[str]:
        return [c for c, hit in zip(self.factor_codes, self.fired[i], strict=True) if hit]


def score_population(population: Population, version: RiskModelVersion) -> ScoredPopulation:
    result = rules.score(factors_of(version), population.attributes)
    return ScoredPopulation(
        population, version.id, result.scores, result.fired, result.factor_codes
    )


def score_snapshot(
    session: Session,
    snapshot: Snapshot,
    version: RiskModelVersion,
    *,
    prior_findings: Mapping[int, float],
    open_actions: Mapping[int, float] | None = None,
) -> ScoredPopulation:
    """Score every case of ``snapshot`` under ``version`` (one SELECT, vectorised)."""
    return score_population(
        load_population(
            session, snapshot, prior_findings=prior_findings, open_actions=open_actions
        ),
        version,
    )


#: Key in ``app.extensions`` under which the app factory registers the source of prior
#: findings: a callable ``(session, as_of) -> Mapping[int, float]``
#: (:func:`tilsyn.reviews.findings.prior_findings_by_caseworker`). Reviews sit above risk, so
#: views and commands below reviews get the shares through this one injection point, made at
#: the top of the stack; services always take them as a plain ``prior_findings`` argument.
PRIOR_FINDINGS_SOURCE = "tilsyn.prior_findings"

PriorFindingsSource = Callable[[Session, date], Mapping[int, float]]


def prior_findings_at(session: Session, as_of: date) -> Mapping[int, float]:
    """Prior findings at ``as_of`` from the source the app factory registered (views, CLI)."""
    source: PriorFindingsSource = current_app.extensions[PRIOR_FINDINGS_SOURCE]
    return source(session, as_of)


#: Key in ``app.extensions`` under which the app factory registers the source of the number of
#: open follow-up actions per caseworker: ``(session, as_of) -> Mapping[int, float]``
#: (:func:`tilsyn.feedback.loop.open_action_counts`), like :data:`PRIOR_FINDINGS_SOURCE`.
OPEN_ACTIONS_SOURCE = "tilsyn.open_followup_actions"


def open_actions_at(session: Session, as_of: date) -> Mapping[int, float] | None:
    """Open follow-up actions per caseworker at ``as_of`` from the registered source (views,
    CLI); None when no source is registered (the attribute is then unknown)."""
    source = current_app.extensions.get(OPEN_ACTIONS_SOURCE)
    return source(session, as_of) if source is not None else None
