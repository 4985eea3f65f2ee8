"""Figures without case-level text: counts per team for directors, the register for auditors.

No free text, no names, no case references; the register's view is audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint
from tilsyn.feedback.common import round_label
from tilsyn.feedback.models import ActionStatus, FeedbackRelease, FollowUpAction
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import Role, role_of, unit_filter
from tilsyn.rounds.models import Round, SupervisionPlan

# --------------------------------------------------------------------------------------------
# Counts for directors, the register for auditors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamCounts:
    unit: str
    open: int
    overdue: int
    closed_in_period: int
    released: int
    acknowledged: int


def team_counts(
    session: Session, actor: User, period_start: date, period_end: date, today: date
) -> list[TeamCounts]:
    """Per team: open, overdue, closed in [start, end] actions and released/acknowledged
    feedback; no names, no case references. A leader sees their own units."""
    units = session.scalars(
        select(Unit)
        .where(unit_filter(actor) if role_of(actor) is Role.TEAMLEDER else Unit.id.is_not(None))
        .order_by(Unit.name)
    ).all()
    by_unit: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(
            Caseworker.unit_id,
            FollowUpAction.status,
            FollowUpAction.due_date,
            FollowUpAction.closed_on,
        ).join(Caseworker, FollowUpAction.caseworker_id == Caseworker.id)
    ).all()
    for unit_id, status, due, closed_on in rows:
        counts = by_unit[unit_id]
        if status in (ActionStatus.OPEN, ActionStatus.DONE):
            counts["open"] += 1
            if status == ActionStatus.OPEN and due < today:
                counts["overdue"] += 1
        elif closed_on is not None and period_start <= closed_on <= period_end:
            counts["closed"] += 1
    for unit_id, acknowledged in session.execute(
        select(Caseworker.unit_id, FeedbackRelease.acknowledged_at).join(
            Caseworker, FeedbackRelease.caseworker_id == Caseworker.id
        )
    ):
        by_unit[unit_id]["released"] += 1
        if acknowledged is not None:
            by_unit[unit_id]["acknowledged"] += 1
    return [
        TeamCounts(
            u.name,
            by_unit[u.id]["open"],
            by_unit[u.id]["overdue"],
            by_unit[u.id]["closed"],
            by_unit[u.id]["released"],
            by_unit[u.id]["acknowledged"],
        )
        for u in units
    ]


@dataclass(frozen=True)
class RegisterRelease:
    round_label: str
    unit: str
    released_at: object
    acknowledged_at: object
    changed: bool


@dataclass(frozen=True)
class RegisterAction:
    id: int
    round_label: str
    unit: str
    point_code: str | None
    status_label: str
    due_date: date
    created_on: date
    closed_on: date | None
    overdue: bool


def register(
    session: Session, actor: User, today: date
) -> tuple[list[RegisterRelease], list[RegisterAction]]:
    """For the auditors: that feedback was released and acknowledged, and every action's
    status and dates, per team; no free text, no names, no case references. Audited."""
    releases = session.scalars(
        select(FeedbackRelease)
        .join(Round, FeedbackRelease.round_id == Round.id)
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .order_by(Round.period_start.desc(), FeedbackRelease.id)
    ).all()
    rounds = {r.id: r for r in session.scalars(select(Round))}
    rel_rows = [
        RegisterRelease(
            round_label(rounds[r.round_id]),
            r.caseworker.unit.name,
            r.released_at,
            r.acknowledged_at,
            r.changed,
        )
        for r in releases
    ]
    actions = session.scalars(select(FollowUpAction).order_by(FollowUpAction.id)).all()
    codes = {cp.id: cp.code for cp in session.scalars(select(ControlPoint))}
    act_rows = [
        RegisterAction(
            a.id,
            round_label(rounds[a.round_id]) if a.round_id in rounds else "",
            a.caseworker.unit.name,
            codes.get(a.control_point_id) if a.control_point_id else None,
            a.status_label,
            a.due_date,
            a.created_on,
            a.closed_on,
            a.overdue_on(today),
        )
        for a in actions
    ]
    audit.record(
        session,
        actor,
        "view",
        "feedback_register",
        None,
        f"Viste registret over {len(rel_rows)} frigivelser og {len(act_rows)} opfølgningspunkter",
    )
    return rel_rows, act_rows
