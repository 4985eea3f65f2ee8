"""Read models of the cases package: snapshots and their aggregates (never case-level rows), and
the unit choices offered when an import meets unknown caseworkers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.cases.models import Case, Snapshot
from tilsyn.org import services as org
from tilsyn.org.models import Caseworker, Unit
from tilsyn.schemes import scheme_label


@dataclass(frozen=True)
class SnapshotRow:
    snapshot: Snapshot
    caseworkers: int
    teams: int


def list_snapshots(session: Session) -> list[SnapshotRow]:
    counts = {
        sid: (int(cw), int(units))
        for sid, cw, units in session.execute(
            select(
                Case.snapshot_id,
                func.count(func.distinct(Case.caseworker_id)),
                func.count(func.distinct(Case.unit_id)),
            ).group_by(Case.snapshot_id)
        )
    }
    snapshots = session.scalars(
        select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())
    ).all()
    return [SnapshotRow(s, *counts.get(s.id, (0, 0))) for s in snapshots]


@dataclass(frozen=True)
class CaseloadRow:
    initials: str
    name: str
    unit: str
    cases: int


@dataclass(frozen=True)
class SnapshotDetail:
    snapshot: Snapshot
    total: int
    per_team: list[tuple[str, int, int]]  # team, caseworkers, cases
    per_scheme: list[tuple[str, int]]
    per_caseworker: list[CaseloadRow]
    caseload_min: int
    caseload_median: float
    caseload_max: int
    caseload_mean: float


def snapshot_detail(session: Session, snapshot_id: int) -> SnapshotDetail | None:
    """Counts per team, scheme and caseworker in one snapshot (no case-level rows)."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        return None
    per_team = [
        (name or "—", int(cw), int(n))
        for name, cw, n in session.execute(
            select(Unit.name, func.count(func.distinct(Case.caseworker_id)), func.count(Case.id))
            .select_from(Case)
            .outerjoin(Unit, Case.unit_id == Unit.id)
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Unit.name)
            .order_by(Unit.name)
        )
    ]
    per_scheme = [
        (scheme_label(code), int(n))
        for code, n in session.execute(
            select(Case.scheme, func.count(Case.id))
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Case.scheme)
            .order_by(func.count(Case.id).desc(), Case.scheme)
        )
    ]
    per_caseworker = [
        CaseloadRow(initials, name, unit or "—", int(n))
        for initials, name, unit, n in session.execute(
            select(Caseworker.initials, Caseworker.name, Unit.name, func.count(Case.id))
            .select_from(Case)
            .join(Caseworker, Case.caseworker_id == Caseworker.id)
            .outerjoin(Unit, Case.unit_id == Unit.id)
            .where(Case.snapshot_id == snapshot.id)
            .group_by(Caseworker.initials, Caseworker.name, Unit.name)
            .order_by(Unit.name, Caseworker.initials)
        )
    ]
    loads = sorted(row.cases for row in per_caseworker)
    total = sum(loads)
    median = 0.0
    if loads:
        mid = len(loads) // 2
        median = float(loads[mid]) if len(loads) % 2 else (loads[mid - 1] + loads[mid]) / 2
    return SnapshotDetail(
        snapshot,
        total,
        per_team,
        per_scheme,
        per_caseworker,
        loads[0] if loads else 0,
        median,
        loads[-1] if loads else 0,
        total / len(loads) if loads else 0.0,
    )


def unit_options(session: Session, file_teams: Iterable[str]) -> list[tuple[str, str]]:
    """Choices for placing a new caseworker: existing units, then units named in the file."""
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    existing = {u.name.lower() for u in units}
    options = [(f"u:{u.id}", u.name) for u in units]
    options += [
        (f"n:{team}", _("%(team)s (ny enhed)", team=team))
        for team in file_teams
        if team.lower() not in existing
    ]
    return options


def default_unit_option(session: Session, team: str | None) -> str:
    """The option preselected for a caseworker whose file team is ``team``."""
    if not team:
        return ""
    unit = org.unit_by_name(session, team)
    return f"u:{unit.id}" if unit is not None else f"n:{team}"
