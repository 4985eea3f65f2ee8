"""Figures for the role start pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.cases.queries import scheme_counts
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import caseworker_filter, unit_filter

NEW_CASEWORKER_DAYS = 183


@dataclass(frozen=True)
class UnitSummary:
    unit: Unit
    caseworkers: int
    new_caseworkers: int
    cases: int


def is_new_caseworker(caseworker: Caseworker, today: date) -> bool:
    """Hired within the last six months (183 days)."""
    start = caseworker.employment_start
    return start is not None and (today - start).days < NEW_CASEWORKER_DAYS


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
            ).all()
        }
    out = []
    for unit in units:
        active = [c for c in unit.caseworkers if c.active]
        new = [c for c in active if is_new_caseworker(c, today)]
        out.append(UnitSummary(unit, len(active), len(new), case_counts.get(unit.id, 0)))
    return out


@dataclass(frozen=True)
class TeamMember:
    caseworker: Caseworker
    is_new: bool
    cases: int


@dataclass(frozen=True)
class TeamOverview:
    unit: Unit
    snapshot: Snapshot | None
    members: list[TeamMember]

    @property
    def cases(self) -> int:
        return sum(m.cases for m in self.members)


def team_overview(session: Session, unit: Unit, today: date) -> TeamOverview:
    """A unit's caseworkers with their caseload in the latest snapshot (counts only).

    The caller checks that the actor may see the unit (:func:`tilsyn.permissions.can_see_unit`).
    """
    snapshot = latest_snapshot(session)
    loads: dict[int, int] = {}
    if snapshot is not None:
        loads = {
            cw_id: int(n)
            for cw_id, n in session.execute(
                select(Case.caseworker_id, func.count(Case.id))
                .join(Caseworker, Case.caseworker_id == Caseworker.id)
                .where(Case.snapshot_id == snapshot.id, Caseworker.unit_id == unit.id)
                .group_by(Case.caseworker_id)
            ).all()
        }
    members = [
        TeamMember(cw, is_new_caseworker(cw, today), loads.get(cw.id, 0))
        for cw in unit.caseworkers
        if cw.active or loads.get(cw.id)
    ]
    return TeamOverview(unit, snapshot, members)


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
        ).all()
        per_unit = [(name, int(cw), int(n)) for name, cw, n in rows]
        per_scheme = scheme_counts(session, snapshot.id)
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
