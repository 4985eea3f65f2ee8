"""One case's risk: which factors fired (case-level, row-scoped, audited)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.errors import ServiceAccessError
from tilsyn.formatting import fmt_decimal
from tilsyn.org.models import Caseworker
from tilsyn.permissions import can_see_caseworker
from tilsyn.risk import rules
from tilsyn.risk.effect import factor_texts
from tilsyn.risk.models import RiskModelVersion
from tilsyn.risk.population import load_population
from tilsyn.risk.versions import RiskError, approved_version, factors_of
from tilsyn.schemes import scheme_label


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
    return fmt_decimal(x, 1)


def case_risk(
    session: Session,
    actor: User,
    case: Case,
    version: RiskModelVersion | None = None,
    *,
    prior_findings: Mapping[int, float],
    open_actions: Mapping[int, float] | None = None,
) -> CaseRisk:
    """Which factors of ``version`` (default: the approved one) fire for ``case``.

    ``prior_findings``: as for :func:`tilsyn.risk.population.load_population`.

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
    pop = load_population(
        session, snapshot, [case.id], prior_findings=prior_findings, open_actions=open_actions
    )
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
