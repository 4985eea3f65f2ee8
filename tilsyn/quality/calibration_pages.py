"""What the *Kalibrering* pages show (computed here; the templates only render it)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.auth.models import User
from tilsyn.errors import get_or_raise
from tilsyn.permissions import can_manage_plan, can_see_plan, visible_plans_filter
from tilsyn.quality.calibration import (
    AgreementRow,
    CalibrationAccessError,
    CalibrationError,
    Pair,
    agreement,
    may_resolve,
    pairs,
    setting_of,
)
from tilsyn.quality.models import CalibrationCase, CalibrationSetting, SecondStatus
from tilsyn.rounds.models import Round, SupervisionPlan

__all__ = ["IndexPlan", "RoundPage", "calibration_index", "calibration_round", "leader_choices"]

#: Agreement is also shown over this many rounds of the plan (the round and its predecessors).
LAST_ROUNDS = 4


@dataclass(frozen=True)
class IndexPlan:
    plan: SupervisionPlan
    setting: CalibrationSetting | None
    leader_names: list[str]
    manageable: bool
    rounds: list[tuple[Round, int, int]]  # (round, calibration cases, completed second reviews)


def leader_choices(session: Session) -> list[User]:
    """Active team leaders (the users a calibration option may name)."""
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), User.role == "teamleder")
            .order_by(User.username)
        )
    )


def calibration_index(session: Session, actor: User | None) -> list[IndexPlan]:
    plans = session.scalars(
        select(SupervisionPlan)
        .where(
            SupervisionPlan.active.is_(True), visible_plans_filter(actor, SupervisionPlan.unit_id)
        )
        .order_by(SupervisionPlan.name)
    ).all()
    names = {u.id: u.display_name or u.username for u in session.scalars(select(User))}
    counts = {
        (rid, status): n
        for rid, status, n in session.execute(
            select(CalibrationCase.round_id, CalibrationCase.status, func.count()).group_by(
                CalibrationCase.round_id, CalibrationCase.status
            )
        )
    }
    out = []
    for plan in plans:
        setting = setting_of(session, plan.id)
        rounds = session.scalars(
            select(Round)
            .where(Round.plan_id == plan.id, Round.draw_id.is_not(None))
            .order_by(Round.period_start.desc(), Round.id.desc())
        ).all()
        lines = []
        for rnd in rounds:
            total = sum(n for (rid, _s), n in counts.items() if rid == rnd.id)
            done = counts.get((rnd.id, SecondStatus.COMPLETED.value), 0)
            lines.append((rnd, total, done))
        out.append(
            IndexPlan(
                plan,
                setting,
                [names.get(i, str(i)) for i in (setting.leader_ids if setting else [])],
                can_manage_plan(actor, plan),
                lines,
            )
        )
    return out


@dataclass(frozen=True)
class RoundPage:
    round: Round
    setting: CalibrationSetting | None
    cases: list[CalibrationCase]
    agreement_round: list[AgreementRow]
    agreement_recent: list[AgreementRow]
    recent_labels: list[str]
    disagreements: list[Pair]
    may_assign: bool
    may_resolve: bool
    #: Ids of the calibration cases the actor reviews (the assigned leader).
    reviewable: frozenset[int]


def calibration_round(session: Session, actor: User | None, round_id: int) -> RoundPage:
    rnd = get_or_raise(session, Round, round_id, CalibrationError(_("Tilsynsrunden findes ikke.")))
    if not can_see_plan(actor, rnd.plan):
        raise CalibrationAccessError(_("Du har ikke adgang til runden."))
    setting = setting_of(session, rnd.plan_id)
    cases = list(
        session.scalars(
            select(CalibrationCase)
            .where(CalibrationCase.round_id == rnd.id)
            .options(
                selectinload(CalibrationCase.draw_item), selectinload(CalibrationCase.reviewer)
            )
            .order_by(CalibrationCase.id)
        )
    )
    recent = session.scalars(
        select(Round)
        .where(
            Round.plan_id == rnd.plan_id,
            Round.draw_id.is_not(None),
            Round.period_start <= rnd.period_start,
        )
        .order_by(Round.period_start.desc(), Round.id.desc())
        .limit(LAST_ROUNDS)
    ).all()
    return RoundPage(
        round=rnd,
        setting=setting,
        cases=cases,
        agreement_round=agreement(session, [rnd.id]),
        agreement_recent=agreement(session, [r.id for r in recent]),
        recent_labels=[r.period_label for r in reversed(recent)],
        disagreements=[p for p in pairs(session, [rnd.id]) if not p.agree],
        may_assign=bool(
            setting is not None
            and setting.active
            and not cases
            and can_manage_plan(actor, rnd.plan)
        ),
        may_resolve=may_resolve(session, actor, rnd),
        reviewable=frozenset(
            c.id for c in cases if actor is not None and c.reviewer_id == actor.id
        ),
    )
