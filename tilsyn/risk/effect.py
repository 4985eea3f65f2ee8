"""The effect of a risk-model version on a snapshot (aggregates only): per factor, per team and
the distribution of scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.cases.models import Snapshot
from tilsyn.formatting import fmt_decimal
from tilsyn.org.models import Unit
from tilsyn.risk import rules
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.population import score_snapshot
from tilsyn.risk.versions import factors_of
from tilsyn.schemes import scheme_label


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


def score_bins(scores: NDArray[np.float64], max_bins: int = 12) -> list[ScoreBin]:
    """Distinct scores when there are few, otherwise equal-width intervals."""
    n = int(scores.shape[0])
    if n == 0:
        return []
    values, counts = np.unique(scores, return_counts=True)
    if values.shape[0] <= max_bins:
        return [
            ScoreBin(fmt_decimal(float(v)), int(c), c / n)
            for v, c in zip(values.tolist(), counts.tolist(), strict=True)
        ]
    edges = np.linspace(float(values[0]), float(values[-1]), max_bins + 1)
    counts_b, _ = np.histogram(scores, bins=edges)
    out = []
    for i, c in enumerate(counts_b.tolist()):
        closing = "]" if i == max_bins - 1 else "["
        out.append(
            ScoreBin(
                f"[{fmt_decimal(edges[i])}; {fmt_decimal(edges[i + 1])}{closing}", int(c), c / n
            )
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
    session: Session,
    snapshot: Snapshot,
    version: RiskModelVersion,
    *,
    prior_findings: Mapping[int, float],
    open_actions: Mapping[int, float] | None = None,
) -> RiskEffect:
    """Score distribution, share of cases hit by each factor (overall and per team) and mean
    score per team. ``prior_findings``: as for :func:`tilsyn.risk.population.load_population`."""
    scored = score_snapshot(
        session, snapshot, version, prior_findings=prior_findings, open_actions=open_actions
    )
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
