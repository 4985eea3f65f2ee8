"""Figures for the role start pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import caseworker_filter, unit_filter
from tilsyn.schemes import SCHEMES


def latest_snapshot(session: Session) -> Snapshot | None:
    return session.scalar(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc()))


@dataclass(frozen=True)
class UnitSummary:
    unit: Unit
    caseworkers: int
    new_caseworkers: int
    cases: int


def unit_summaries(session: Session, actor: User, today: date) -> list[UnitSummary]:
    """Units the actor leads (all for admin) with caseworker and case counts."""
    snapshot = latest_snapshot(session)
    units = session.scalars(select(Unit).where(unit_filter(actor)).order_by(Unit.name)).all()
    case_counts: dict[int, int] = {}
    if snapshot is not None:
        case_counts = {
            unit_id: n
            for unit_id, n in session.execute(
                select(Caseworker.unit_id, func.count(Case.id))
                .join(Case, Case.caseworker_id == Caseworker.id)
                .where(Case.snapshot_id == snapshot.id)
                .group_by(Caseworker.unit_id)
            ).tuples()
        }
    out = []
    for unit in units:
        active = [c for c in unit.caseworkers if c.active]
        new = [c for c in active if c.employment_start and (today - c.employment_start).days < 183]
        out.append(UnitSummary(unit, len(active), len(new), case_counts.get(unit.id, 0)))
    return out


@dataclass(frozen=True)
class OrgOverview:
    snapshot: Snapshot | None
    per_unit: list[tuple[str, int, int]]  # unit, caseworkers, cases
    per_scheme: list[tuple[str, int]]
    total_cases: int


def org_overview(session: Session) -> OrgOverview:
    """Aggregates only: counts per team and scheme in the latest snapshot."""
    snapshot = latest_snapshot(session)
    per_unit: list[tuple[str, int, int]] = []
    per_scheme: list[tuple[str, int]] = []
    total = 0
    if snapshot is not None:
        rows = session.execute(
            select(Unit.name, func.count(func.distinct(Case.caseworker_id)), func.count(Case.id))
            .join(Case, Case.unit_id == Unit.id)
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Unit.name)
            .order_by(Unit.name)
        ).tuples()
        per_unit = [(name, int(cw), int(n)) for name, cw, n in rows]
        per_scheme = [
            (SCHEMES.get(code, code), int(n))
            for code, n in session.execute(
                select(Case.scheme, func.count(Case.id))
                .where(Case.snapshot_id == snapshot.id)
                .group_by(Case.scheme)
                .order_by(func.count(Case.id).desc())
            ).tuples()
        ]
        total = sum(n for _, _, n in per_unit)
    return OrgOverview(snapshot, per_unit, per_scheme, total)


def own_cases(session: Session, actor: User) -> tuple[Snapshot | None, list[Case]]:
    """The actor's own cases in the latest snapshot (row-scoped); the view is audited."""
    snapshot = latest_snapshot(session)
    if snapshot is None:
        return None, []
    cases = list(
        session.scalars(
            select(Case)
            .join(Caseworker, Case.caseworker_id == Caseworker.id)
            .where(Case.snapshot_id == snapshot.id, caseworker_filter(actor))
            .order_by(Case.start_date)
        )
    )
    audit.record(session, actor, "view", "own_cases", snapshot.id, f"Viste {len(cases)} egne sager")
    return snapshot, cases
