"""Risk model versions: create, edit a draft, approve, and the default model.

The default model
-----------------
:func:`ensure_default_model` creates version 1 from ``tilsyn/risk/default_model.toml`` the first
time a risk model is needed, and approves it *in the name of the actor who asks* (the admin
running ``tilsyn risk init`` or pressing "Opret standardmodel" on the risk assessment page; the
system when the CLI is run without ``--user``). The approval note says so. A municipality is
expected to review the factors and approve its own version; every sample records the version
it used."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.errors import ServiceError
from tilsyn.models_base import utcnow
from tilsyn.permissions import Role, role_of
from tilsyn.risk import rules
from tilsyn.risk.models import RiskModelStatus, RiskModelVersion


class RiskError(ServiceError):
    """A user-facing (Danish) refusal."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def list_versions(session: Session) -> list[RiskModelVersion]:
    """All versions, newest first."""
    return list(session.scalars(select(RiskModelVersion).order_by(RiskModelVersion.number.desc())))


def approved_version(session: Session) -> RiskModelVersion | None:
    """The version in force (used by new draws), or None if no version is approved yet."""
    return session.scalar(
        select(RiskModelVersion)
        .where(RiskModelVersion.status == RiskModelStatus.APPROVED)
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


def _clean_name(name: str) -> str:
    """The version name with whitespace collapsed; RiskError if empty or over 200 characters."""
    name = " ".join((name or "").split())
    if not name:
        raise RiskError(_("Risikomodellen skal have et navn."))
    if len(name) > 200:
        raise RiskError(_("Navnet må højst være 200 tegn."))
    return name


def _next_number(session: Session) -> int:
    return int(session.scalar(select(func.max(RiskModelVersion.number))) or 0) + 1


@dataclass(frozen=True)
class _DraftContent:
    """What the editor saves into a draft, cleaned (RiskError if the name or the factors are
    not valid)."""

    name: str
    description: str
    factors: list[dict[str, Any]]

    @classmethod
    def clean(
        cls, factors: Sequence[rules.Factor | Mapping[str, Any]], name: str, description: str
    ) -> _DraftContent:
        name = _clean_name(name)
        return cls(name, (description or "").strip(), _clean_factors(factors))


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
    content = _DraftContent.clean(factors, name, description)
    version = RiskModelVersion(
        number=_next_number(session),
        name=content.name,
        description=content.description,
        factors=content.factors,
        status=RiskModelStatus.DRAFT,
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
        {"number": version.number, "factors": [f["code"] for f in content.factors]},
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
    """The editor's save: a draft is changed in place (a draft is used by nothing), any other
    version gets a new draft based on it."""
    if version.status != RiskModelStatus.DRAFT:
        return create_version(session, actor, version, factors, name, description)
    content = _DraftContent.clean(factors, name, description)
    version.name = content.name
    version.description = content.description
    version.factors = content.factors
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "risk_model_version",
        version.id,
        f"Kladde til risikomodel version {version.number} ændret",
        {"factors": [f["code"] for f in content.factors]},
    )
    return version


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
        previous.status = RiskModelStatus.SUPERSEDED
        previous.superseded_at = utcnow()
    version.status = RiskModelStatus.APPROVED
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
    if version.status != RiskModelStatus.DRAFT:
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
