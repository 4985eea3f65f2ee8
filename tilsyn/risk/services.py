"""Risk model versions (create, approve) and scoring of a snapshot's cases.

The default model
-----------------
:func:`ensure_default_model` creates version 1 from ``tilsyn/risk/default_model.toml`` the first
time a risk model is needed, and approves it *in the name of the actor who asks* (the admin
running ``tilsyn risk init`` or pressing "Opret standardmodel" on the risk assessment page; the
system when the CLI is run without ``--user``). The approval note says so. A municipality is
expected to review the factors and approve its own version; every sample records the version
it used.

Case attributes
---------------
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
  Draws record it with the other caseworker facts, so a replay does not depend on later reviews.
* ``job_goal``, ``cv_on_jobnet`` = 1/0 (NaN unknown); counts as numbers (NaN unknown).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import IN_ORDER, NOT_IN_ORDER
from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import Role, can_see_caseworker, role_of
from tilsyn.reviews.models import COMPLETED as REVIEW_COMPLETED
from tilsyn.reviews.models import CaseReview, ReviewAnswer
from tilsyn.risk import rules
from tilsyn.risk.models import APPROVED, DRAFT, SUPERSEDED, RiskModelVersion
from tilsyn.rounds.models import CLOSED, Round
from tilsyn.schemes import scheme_label

#: Days per month used for tenure (same as tilsyn.org.services.tenure_months).
DAYS_PER_MONTH = 30.4375
#: Attributes that are the same for all of a caseworker's cases.
CASEWORKER_ATTRIBUTES = ("caseworker_tenure_months", "prior_findings")


class RiskError(ServiceError):
    """A user-facing (Danish) refusal."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------


def list_versions(session: Session) -> list[RiskModelVersion]:
    """All versions, newest first."""
    return list(session.scalars(select(RiskModelVersion).order_by(RiskModelVersion.number.desc())))


def approved_version(session: Session) -> RiskModelVersion | None:
    """The version in force (used by new draws), or None if no version is approved yet."""
    return session.scalar(
        select(RiskModelVersion)
        .where(RiskModelVersion.status == APPROVED)
        .order_by(RiskModelVersion.number.desc())
    )


def factors_of(version: RiskModelVersion) -> list[rules.Factor]:
    """The version's factors as :class:`~tilsyn.risk.rules.Factor` objects."""
    return [rules.factor_from_dict(d) for d in version.factors]


def factors_digest(factor_dicts: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of a list of factor dicts (recorded with every draw)."""
    canonical = json.dumps(list(factor_dicts), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _clean_factors(factors: Sequence[rules.Factor | Mapping[str, Any]]) -> list[dict[str, Any]]:
    parsed: list[rules.Factor] = []
    problems: list[str] = []
    for i, item in enumerate(factors, start=1):
        if isinstance(item, rules.Factor):
            parsed.append(item)
            continue
        try:
            parsed.append(rules.factor_from_dict(item))
        except (ValueError, TypeError) as exc:
            problems.append(_("Faktor %(num)d: kan ikke læses (%(error)s).", num=i, error=exc))
    if not parsed and not problems:
        problems.append(_("Risikomodellen skal have mindst én faktor."))
    problems.extend(rules.validate_factors(parsed))
    if problems:
        raise RiskError(_("Risikomodellen er ikke gyldig."), problems)
    return [rules.factor_to_dict(f) for f in parsed]


def _next_number(session: Session) -> int:
    return int(session.scalar(select(func.max(RiskModelVersion.number))) or 0) + 1


def create_version(
    session: Session,
    actor: User | None,
    base: RiskModelVersion | None,
    factors: Sequence[rules.Factor | Mapping[str, Any]],
    name: str,
    description: str = "",
) -> RiskModelVersion:
    """Create a new draft version (the next number), based on ``base`` if given.

    Raises :class:`RiskError` (with ``problems``, in the UI language) if the factors are invalid.
    """
    name = " ".join((name or "").split())
    if not name:
        raise RiskError(_("Risikomodellen skal have et navn."))
    if len(name) > 200:
        raise RiskError(_("Navnet må højst være 200 tegn."))
    clean = _clean_factors(factors)
    version = RiskModelVersion(
        number=_next_number(session),
        name=name,
        description=(description or "").strip(),
        factors=clean,
        status=DRAFT,
        created_by_id=actor.id if actor is not None else None,
        created_by_name=audit.actor_name(actor),
        based_on_id=base.id if base is not None else None,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "risk_model_version",
        version.id,
        f"Risikomodel version {version.number} oprettet som kladde"
        + (f" (på grundlag af version {base.number})" if base is not None else ""),
        {"number": version.number, "factors": [f["code"] for f in clean]},
    )
    return version


def update_draft(
    session: Session,
    actor: User | None,
    version: RiskModelVersion,
    factors: Sequence[rules.Factor | Mapping[str, Any]],
    name: str,
    description: str = "",
) -> RiskModelVersion:
    """Change a draft in place (a draft is used by nothing). Approved versions are refused."""
    if version.status != DRAFT:
        raise RiskError(
            _("Kun en kladde kan ændres; en godkendt version redigeres som ny version.")
        )
    name = " ".join((name or "").split())
    if not name:
        raise RiskError(_("Risikomodellen skal have et navn."))
    clean = _clean_factors(factors)
    version.name = name[:200]
    version.description = (description or "").strip()
    version.factors = clean
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "risk_model_version",
        version.id,
        f"Kladde til risikomodel version {version.number} ændret",
        {"factors": [f["code"] for f in clean]},
    )
    return version


def save_edit(
    session: Session,
    actor: User | None,
    version: RiskModelVersion,
    factors: Sequence[rules.Factor | Mapping[str, Any]],
    name: str,
    description: str = "",
) -> RiskModelVersion:
    """The editor's save: a draft is changed in place, any other version gets a new draft."""
    if version.status == DRAFT:
        return update_draft(session, actor, version, factors, name, description)
    return create_version(session, actor, version, factors, name, description)


def _approve(
    session: Session,
    actor: User | None,
    version: RiskModelVersion,
    on_date: date,
    note: str,
    approver_name: str,
) -> RiskModelVersion:
    previous = approved_version(session)
    if previous is not None and previous.id != version.id:
        previous.status = SUPERSEDED
        previous.superseded_at = utcnow()
    version.status = APPROVED
    version.approved_by_id = actor.id if actor is not None else None
    version.approved_by_name = approver_name
    version.approved_on = on_date
    version.approval_note = (note or "").strip()
    session.flush()
    audit.record(
        session,
        actor,
        "approve",
        "risk_model_version",
        version.id,
        f"Risikomodel version {version.number} godkendt {on_date:%d-%m-%Y} af {approver_name}"
        + (f"; version {previous.number} afløst" if previous is not None else ""),
        {"number": version.number, "superseded": previous.number if previous else None},
    )
    return version


def approve(
    session: Session,
    actor: User,
    version: RiskModelVersion,
    on_date: date | None,
    note: str = "",
    today: date | None = None,
) -> RiskModelVersion:
    """Approve a draft in the name of ``actor`` (a teamleder or admin) on ``on_date``.

    The previously approved version becomes superseded. Refuses non-drafts, future dates and
    actors who are not leaders.
    """
    if role_of(actor) not in (Role.ADMIN, Role.TEAMLEDER):
        raise RiskError(_("Kun en teamleder eller administrator kan godkende en risikomodel."))
    if version.status != DRAFT:
        raise RiskError(
            _(
                "Version %(number)s er ikke en kladde og kan ikke godkendes.",
                number=version.number,
            )
        )
    if on_date is None:
        raise RiskError(_("Angiv godkendelsesdatoen."))
    if on_date > (today or date.today()):
        raise RiskError(_("Godkendelsesdatoen kan ikke ligge i fremtiden."))
    _clean_factors(version.factors)  # a stored draft is re-validated before it comes into force
    name = actor.display_name or actor.username
    return _approve(session, actor, version, on_date, note, f"{name} ({actor.username})")


def ensure_default_model(
    session: Session, actor: User | None, today: date | None = None
) -> RiskModelVersion:
    """Return the approved version; if no version exists at all, create and approve version 1.

    Version 1 is the packaged default model, approved in the name of ``actor`` (or "system"
    when None) on ``today``, with a note saying it is the unchanged default model. If versions
    exist but none is approved (only drafts), a RiskError asks for an approval instead.
    """
    current = approved_version(session)
    if current is not None:
        return current
    if session.scalar(select(func.count(RiskModelVersion.id))):
        raise RiskError(_("Der er ingen godkendt risikomodel. Godkend en kladde først."))
    spec = rules.load_model_file()
    version = create_version(session, actor, None, list(spec.factors), spec.name, spec.description)
    if actor is not None:
        approver = f"{actor.display_name or actor.username} ({actor.username})"
    else:
        approver = audit.SYSTEM_ACTOR
    return _approve(
        session,
        actor,
        version,
        today or date.today(),
        "Standardmodellen fra tilsyn (tilsyn/risk/default_model.toml), uændret, taget i brug "
        "ved opsætningen. Gennemgå faktorerne og godkend kommunens egen version.",
        approver,
    )


# --------------------------------------------------------------------------------------------
# Case attributes and scoring
# --------------------------------------------------------------------------------------------


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


def prior_findings_by_caseworker(session: Session, as_of: date) -> dict[int, float]:
    """{caseworker id: share »ikke i orden«} in each caseworker's latest closed round.

    Only completed reviews count, and only answers in order or not in order (not applicable is
    outside the denominator). The latest round is the closed round with the latest period start
    on or before ``as_of`` in which the caseworker had a completed review.
    """
    counted = ReviewAnswer.outcome.in_((IN_ORDER, NOT_IN_ORDER))
    rows = session.execute(
        select(
            CaseReview.caseworker_id,
            Round.period_start,
            Round.id,
            func.sum(case((ReviewAnswer.outcome == NOT_IN_ORDER, 1), else_=0)),
            func.count(ReviewAnswer.id),
        )
        .join(Round, CaseReview.round_id == Round.id)
        .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
        .where(
            CaseReview.status == REVIEW_COMPLETED,
            Round.status == CLOSED,
            Round.period_start <= as_of,
            counted,
        )
        .group_by(CaseReview.caseworker_id, Round.period_start, Round.id)
    ).all()
    latest: dict[int, tuple[date, int, float]] = {}
    for cw_id, start, round_id, bad, total in rows:
        key = (start, round_id)
        if total and (cw_id not in latest or key > latest[cw_id][:2]):
            latest[int(cw_id)] = (start, round_id, int(bad) / int(total))
    return {cw_id: share for cw_id, (_s, _r, share) in latest.items()}


def _prior_findings(
    session: Session, as_of: date, caseworker_ids: NDArray[np.int64]
) -> NDArray[np.float64]:
    shares = prior_findings_by_caseworker(session, as_of)
    return np.array(
        [shares.get(c, math.nan) for c in caseworker_ids.tolist()], dtype=np.float64
    ).reshape(caseworker_ids.shape[0])


def load_population(
    session: Session, snapshot: Snapshot, case_ids: Collection[int] | None = None
) -> Population:
    """One SELECT of the snapshot's cases (ordered by case reference) and derived attributes.

    ``case_ids`` restricts the rows returned; caseloads still count the whole snapshot.
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
        "prior_findings": _prior_findings(session, snapshot.as_of, caseworker_ids),
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


def case_attributes(
    session: Session, snapshot: Snapshot, case_ids: Collection[int] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.object_], dict[str, NDArray[Any]]]:
    """``(case_ids, caseworker_ids, scheme, attributes)`` of the snapshot's cases, aligned."""
    pop = load_population(session, snapshot, case_ids)
    return pop.case_ids, pop.caseworker_ids, pop.scheme, pop.attributes


@dataclass(frozen=True)
class ScoredPopulation:
    """Scores of a population under one version; every array is aligned with ``case_ids``."""

    population: Population
    version_id: int
    scores: NDArray[np.float64]
    fired: NDArray[np.bool_]  # (cases, factors)
    factor_codes: tuple[str, ...]

    @property
    def case_ids(self) -> NDArray[np.int64]:
        return self.population.case_ids

    @property
    def case_refs(self) -> NDArray[np.object_]:
        return self.population.case_refs

    @property
    def caseworker_ids(self) -> NDArray[np.int64]:
        return self.population.caseworker_ids

    @property
    def scheme(self) -> NDArray[np.object_]:
        return self.population.scheme

    def fired_codes(self, i: int) -> list[str]:
        return [c for c, hit in zip(self.factor_codes, self.fired[i], strict=True) if hit]


def score_population(population: Population, version: RiskModelVersion) -> ScoredPopulation:
    result = rules.score(factors_of(version), population.attributes)
    return ScoredPopulation(
        population, version.id, result.scores, result.fired, result.factor_codes
    )


def score_snapshot(
    session: Session, snapshot: Snapshot, version: RiskModelVersion
) -> ScoredPopulation:
    """Score every case of ``snapshot`` under ``version`` (one SELECT, vectorised)."""
    return score_population(load_population(session, snapshot), version)


# --------------------------------------------------------------------------------------------
# Effect of a version on a snapshot (aggregates only)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorEffect:
    code: str
    label: str
    rule_text: str
    schemes: str
    weight: float
    rationale: str
    cases: int
    share: float


@dataclass(frozen=True)
class ScoreBin:
    label: str
    cases: int
    share: float


@dataclass(frozen=True)
class TeamEffect:
    unit: str
    cases: int
    mean_score: float
    share_with_risk: float
    #: Share of the team's cases each factor fires for, in the order of ``RiskEffect.factors``.
    factor_shares: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class FactorTeamRow:
    """One factor's share of cases per team (in the order of ``RiskEffect.teams``) and overall."""

    code: str
    label: str
    team_shares: list[float]
    share: float


@dataclass(frozen=True)
class RiskEffect:
    snapshot: Snapshot
    cases: int
    mean: float
    quantiles: list[tuple[str, float]]
    share_zero: float
    bins: list[ScoreBin]
    factors: list[FactorEffect]
    teams: list[TeamEffect]

    @property
    def factor_team_rows(self) -> list[FactorTeamRow]:
        """The factor × team table: for each factor, the share of each team's cases it hits."""
        return [
            FactorTeamRow(f.code, f.label, [t.factor_shares[j] for t in self.teams], f.share)
            for j, f in enumerate(self.factors)
        ]


def _fmt_score(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def score_bins(scores: NDArray[np.float64], max_bins: int = 12) -> list[ScoreBin]:
    """Distinct scores when there are few, otherwise equal-width intervals."""
    n = int(scores.shape[0])
    if n == 0:
        return []
    values, counts = np.unique(scores, return_counts=True)
    if values.shape[0] <= max_bins:
        return [
            ScoreBin(_fmt_score(float(v)), int(c), c / n)
            for v, c in zip(values.tolist(), counts.tolist(), strict=True)
        ]
    edges = np.linspace(float(values[0]), float(values[-1]), max_bins + 1)
    counts_b, _ = np.histogram(scores, bins=edges)
    out = []
    for i, c in enumerate(counts_b.tolist()):
        closing = "]" if i == max_bins - 1 else "["
        out.append(
            ScoreBin(f"[{_fmt_score(edges[i])}; {_fmt_score(edges[i + 1])}{closing}", int(c), c / n)
        )
    return out


def factor_texts(factor: rules.Factor) -> tuple[str, str]:
    """``(rule in words, schemes)`` of a factor, in the current UI language (Danish)."""
    texts = [rules.condition_text(c) for c in factor.conditions]
    text = texts[0]
    for more in texts[1:]:
        text = _("%(rule)s og %(condition)s", rule=text, condition=more)
    schemes = ", ".join(scheme_label(s) for s in factor.schemes) or _("Alle ordninger")
    return text, schemes


#: Quantiles of the risk score shown on the risk assessment: (label, probability).
QUANTILES: tuple[tuple[LazyString, float], ...] = (
    (_l("Minimum"), 0.0),
    (_l("25 %"), 0.25),
    (_l("Median"), 0.5),
    (_l("75 %"), 0.75),
    (_l("90 %"), 0.9),
    (_l("Maksimum"), 1.0),
)


def effect_on_snapshot(
    session: Session, snapshot: Snapshot, version: RiskModelVersion
) -> RiskEffect:
    """Score distribution, share of cases hit by each factor (overall and per team) and mean
    score per team."""
    scored = score_snapshot(session, snapshot, version)
    scores = scored.scores
    n = int(scores.shape[0])
    factors = factors_of(version)
    hits = scored.fired.sum(axis=0) if n else np.zeros(len(factors), dtype=np.int64)
    factor_rows = []
    for j, f in enumerate(factors):
        text, schemes = factor_texts(f)
        k = int(hits[j])
        factor_rows.append(
            FactorEffect(
                f.code, f.label, text, schemes, float(f.weight), f.rationale, k, k / n if n else 0.0
            )
        )
    quantiles: list[tuple[str, float]] = []
    if n:
        for label, q in QUANTILES:
            quantiles.append((str(label), float(np.quantile(scores, q))))
    unit_names = dict(session.execute(select(Unit.id, Unit.name)).all())
    teams = []
    units = scored.population.unit_ids
    for unit_id in np.unique(units).tolist():
        mask = units == unit_id
        teams.append(
            TeamEffect(
                unit_names.get(unit_id) or _("Uden enhed"),
                int(mask.sum()),
                float(scores[mask].mean()),
                float((scores[mask] > 0).mean()),
                [float(x) for x in scored.fired[mask].mean(axis=0).tolist()],
            )
        )
    teams.sort(key=lambda t: t.unit)
    return RiskEffect(
        snapshot=snapshot,
        cases=n,
        mean=float(scores.mean()) if n else 0.0,
        quantiles=quantiles,
        share_zero=float((scores == 0).mean()) if n else 0.0,
        bins=score_bins(scores),
        factors=factor_rows,
        teams=teams,
    )


# --------------------------------------------------------------------------------------------
# One case: which factors fired (case-level, row-scoped, audited)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorResult:
    code: str
    label: str
    rule_text: str
    schemes: str
    weight: float
    fired: bool


@dataclass(frozen=True)
class CaseRisk:
    case: Case
    version: RiskModelVersion
    score: float
    factors: list[FactorResult]
    attributes: list[tuple[str, str]]  # (Danish description, value)


class CaseAccessDenied(ServiceAccessError):
    """The actor may not see this caseworker's cases."""


def _fmt_value(name: str, value: Any) -> str:
    if name == "scheme":
        return scheme_label(str(value))
    x = float(value)
    if math.isnan(x):
        return "—"
    if name in ("job_goal", "cv_on_jobnet"):
        return _("Ja") if x else _("Nej")
    return f"{x:.1f}".replace(".", ",") if not x.is_integer() else str(int(x))


def case_risk(
    session: Session, actor: User, case: Case, version: RiskModelVersion | None = None
) -> CaseRisk:
    """Which factors of ``version`` (default: the approved one) fire for ``case``.

    Raises :class:`CaseAccessDenied` if the actor may not see the caseworker, RiskError if no
    version is approved. The view is audited (case-level data).
    """
    caseworker = session.get(Caseworker, case.caseworker_id)
    if caseworker is None or not can_see_caseworker(actor, caseworker):
        raise CaseAccessDenied
    version = version or approved_version(session)
    if version is None:
        raise RiskError(_("Der er ingen godkendt risikomodel."))
    snapshot = session.get(Snapshot, case.snapshot_id)
    assert snapshot is not None
    pop = load_population(session, snapshot, [case.id])
    result = rules.score(factors_of(version), pop.attributes)
    factors = []
    for j, f in enumerate(factors_of(version)):
        text, schemes = factor_texts(f)
        factors.append(
            FactorResult(f.code, f.label, text, schemes, float(f.weight), bool(result.fired[0, j]))
        )
    attrs = [
        (str(desc), _fmt_value(name, pop.attributes[name][0]))
        for name, desc in rules.ATTRIBUTES.items()
    ]
    audit.record(
        session,
        actor,
        "view",
        "case_risk",
        case.id,
        f"Viste risikofaktorer for sag {case.case_ref} (sagsudtræk {snapshot.id})",
        {"version": version.number},
    )
    return CaseRisk(case, version, float(result.scores[0]), factors, attrs)
