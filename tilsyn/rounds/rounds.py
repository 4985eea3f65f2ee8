"""Rounds: create (by hand or for the scheduled run), draw their sample, change status.

Creating a round is idempotent: the database refuses a second round for the same plan and
period (UniqueConstraint)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Snapshot
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.formutil import DATE_MAX, DATE_MIN
from tilsyn.models_base import utcnow
from tilsyn.permissions import can_manage_plan
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import (
    STATUSES,
    TRANSITIONS,
    Round,
    RoundDraw,
    RoundStatus,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Period, next_period, period_containing, previous_period
from tilsyn.rounds.plans import design_params
from tilsyn.rounds.themes import assign_themes, choose_rotating, too_many_rotating_message
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.models import Draw, DrawItem, DrawPurpose


def round_for(session: Session, plan: SupervisionPlan, label: str) -> Round | None:
    return session.scalar(
        select(Round).where(Round.plan_id == plan.id, Round.period_label == label)
    )


def review_deadline(plan: SupervisionPlan, period: Period, today: date | None = None) -> date:
    """The review deadline of a round of ``period``: ``review_weeks`` after the period starts.

    A round created (on ``today``) after that date, e.g. catching up a period that is already
    over, gets ``review_weeks`` from its creation instead of a deadline in the past.
    """
    deadline = period.start + timedelta(weeks=plan.review_weeks)
    if today is not None and deadline < today:
        deadline = today + timedelta(weeks=plan.review_weeks)
    return deadline


def plan_start(plan: SupervisionPlan) -> date:
    """The plan's first day, held inside the range every date field accepts: a plan stored
    before that rule with 0001-01-01 or 9999-12-31 must not overflow period arithmetic."""
    return min(max(plan.starts_on, DATE_MIN), DATE_MAX)


def creatable_periods(session: Session, plan: SupervisionPlan, today: date) -> list[Period]:
    """Periods a leader may create a round for by hand, newest first: from the plan's first
    period up to and including the next period, leaving out periods that have a round."""
    first = period_containing(plan.cadence, plan_start(plan))
    last = next_period(plan.cadence, period_containing(plan.cadence, today))
    taken = set(session.scalars(select(Round.period_label).where(Round.plan_id == plan.id)))
    out: list[Period] = []
    period = last
    while period.start >= first.start:
        if period.label not in taken:
            out.append(period)
        period = previous_period(plan.cadence, period)
    return out


def create_round_by_hand(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan,
    period: Period,
    rotating_theme_ids: Sequence[int] | None,
    today: date,
) -> Round:
    """A leader creates a round: any period from the plan's first up to the next one.

    Refused (RoundError, Danish) for other periods and for plans the actor may not manage. A
    period that is already over is a catch-up: its review deadline counts from ``today``.
    """
    if not can_manage_plan(actor, plan):
        raise RoundError(_("Du kan ikke oprette runder for denne plan."))
    first = period_containing(plan.cadence, plan_start(plan))
    last = next_period(plan.cadence, period_containing(plan.cadence, today))
    if not first.start <= period.start <= last.start:
        raise RoundError(
            _(
                "Der kan kun oprettes runder for perioderne fra planens første periode "
                "(%(first)s) til og med næste periode (%(last)s); %(period)s ligger uden for.",
                first=first.label,
                last=last.label,
                period=period.label,
            )
        )
    return create_round(session, actor, plan, period, rotating_theme_ids, today=today)


def create_round(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan,
    period: Period,
    rotating_theme_ids: Sequence[int] | None = None,
    *,
    today: date | None = None,
    provisional: bool = False,
) -> Round:
    """Create the round of ``plan`` for ``period`` (status planned) with its themes.

    ``rotating_theme_ids`` None picks the rotating themes by the plan's policy; ``provisional``
    marks them as the scheduler's pick for the leader to confirm. ``today`` (the creation day)
    moves a deadline that would already have passed (see :func:`review_deadline`). Raises
    RoundError if the round exists; the database's unique constraint backs this up when two
    processes race (IntegrityError on flush).
    """
    if round_for(session, plan, period.label) is not None:
        raise RoundError(
            _(
                "Planen «%(plan)s» har allerede en runde for %(period)s.",
                plan=plan.name,
                period=period.label,
            )
        )
    if rotating_theme_ids is None:
        rotating = choose_rotating(session, plan, period)
    else:
        allowed = {t.id: t for t in plan.rotating_themes}
        if any(tid not in allowed for tid in rotating_theme_ids):
            raise RoundError(_("Vælg blandt planens roterende temaer."))
        if len(set(rotating_theme_ids)) > plan.rotating_per_round:
            raise RoundError(too_many_rotating_message(plan))
        rotating = [allowed[tid] for tid in dict.fromkeys(rotating_theme_ids)]
    rnd = Round(
        plan=plan,
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        status=RoundStatus.PLANNED,
        review_deadline=review_deadline(plan, period, today),
        themes_provisional=provisional and rotating_theme_ids is None and bool(plan.rotating),
        created_by_id=actor.id if actor is not None else None,
        created_by_name=audit.actor_name(actor),
    )
    session.add(rnd)
    assign_themes(session, rnd, plan, rotating)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "round",
        rnd.id,
        f"Tilsynsrunde {plan.name} {period.label} oprettet",
        {
            "themes": [{"code": rt.theme.code, "core": rt.is_core} for rt in rnd.themes],
            "control_points": len(rnd.control_points),
            "themes_provisional": rnd.themes_provisional,
            "review_deadline": rnd.review_deadline.isoformat() if rnd.review_deadline else None,
        },
    )
    return rnd


def snapshot_is_recent(plan: SupervisionPlan, period_start: date, snapshot: Snapshot) -> bool:
    """A snapshot may be used for a round if it is at most ``snapshot_max_age_days`` older
    than the period start."""
    return snapshot.as_of >= period_start - timedelta(days=plan.snapshot_max_age_days)


def excluded_case_refs(session: Session, rnd: Round) -> set[str]:
    """Case references sampled in the plan's last ``r`` rounds before this one."""
    r = rnd.plan.exclude_recent_rounds
    if r <= 0:
        return set()
    earlier = session.scalars(
        select(Round.draw_id)
        .where(
            Round.plan_id == rnd.plan_id,
            Round.period_start < rnd.period_start,
            Round.draw_id.is_not(None),
        )
        .order_by(Round.period_start.desc())
        .limit(r)
    ).all()
    if not earlier:
        return set()
    return set(session.scalars(select(DrawItem.case_ref).where(DrawItem.draw_id.in_(earlier))))


#: Key in ``app.extensions`` under which the app factory registers the source of a plan's
#: follow-up allowance: a callable ``(session, plan_id, as_of) -> Mapping[int, tuple[int, str]]``
#: (:func:`tilsyn.feedback.loop.followup_allowance`). Feedback sits above rounds, so views and
#: commands here get the extra cases through this one injection point made at the top of the
#: stack; services always take them as a plain ``extra_cases`` argument.
FOLLOWUP_ALLOWANCE_SOURCE = "tilsyn.followup_allowance"


def followup_allowance_at(
    session: Session, plan_id: int, as_of: date
) -> Mapping[int, tuple[int, str]]:
    """The plan's extra cases at ``as_of`` from the registered source (none if none is)."""
    source = current_app.extensions.get(FOLLOWUP_ALLOWANCE_SOURCE)
    return source(session, plan_id, as_of) if source is not None else {}


def draw_round(
    session: Session,
    actor: User | None,
    rnd: Round,
    *,
    reason: str = "",
    snapshot: Snapshot | None = None,
    seed: int | None = None,
    prior_findings: Mapping[int, float],
    replaces: str | None = None,
    open_actions: Mapping[int, float] | None = None,
    extra_cases: Mapping[int, tuple[int, str]] | None = None,
) -> Draw:
    """Draw the round's sample from ``snapshot`` (default: the latest) and attach it.

    ``replaces``: the id of the draw the user saw on the page ("" for none); a submit made
    after someone else drew is refused (None: no check, e.g. the scheduler). The round's row
    is locked while this runs.

    ``prior_findings``: as for :func:`tilsyn.sampling.draw.draw_sample` (the caller, above
    reviews, computes them for the snapshot's date). ``extra_cases``: the plan's follow-up
    allowance at the snapshot's date (caseworker id -> (f, reason)), computed above feedback
    (:func:`followup_allowance_at` for views, the scheduler process for its runs).

    A round that already has a draw gets a new one only with a written ``reason``; the earlier
    draw stays recorded in the round's draw history. Raises RoundError (or the sampling
    service's ValueError) with a Danish message; nothing is stored then.
    """
    # Lock the round's row (PostgreSQL) and re-read it: parallel submits are serialised, and
    # each sees the draw the one before it attached.
    session.execute(
        select(Round)
        .where(Round.id == rnd.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()  # fetched, so the locked row's values replace the loaded ones
    session.expire(rnd, ["draw_history"])
    if rnd.status == RoundStatus.CLOSED:
        raise RoundError(_("Runden er afsluttet; dens stikprøve kan ikke udskiftes."))
    reason = reason.strip()
    if rnd.draw_id is not None and not reason:
        raise RoundError(
            _("Runden har allerede en stikprøve. Skriv en begrundelse for at udskifte den.")
        )
    if replaces is not None and replaces.strip() != str(rnd.draw_id or ""):
        raise RoundError(
            _(
                "Stikprøven er allerede trukket eller udskiftet af en anden, efter du åbnede "
                "siden. Se den nuværende stikprøve, og prøv igen, hvis den stadig skal udskiftes."
            )
        )
    plan = rnd.plan
    snapshot = snapshot if snapshot is not None else latest_snapshot(session)
    if snapshot is None:
        raise RoundError(_("Der er intet sagsudtræk at trække stikprøven fra. Indlæs et udtræk."))
    if not snapshot_is_recent(plan, rnd.period_start, snapshot):
        raise RoundError(
            _(
                "Det nyeste sagsudtræk er fra %(as_of)s og dermed mere end %(days)s dage ældre "
                "end rundens start (%(start)s). Indlæs et nyere udtræk.",
                as_of=f"{snapshot.as_of:%d-%m-%Y}",
                days=plan.snapshot_max_age_days,
                start=f"{rnd.period_start:%d-%m-%Y}",
            )
        )
    draw = draw_sample(
        session,
        actor,
        snapshot,
        design_params(plan),
        prior_findings=prior_findings,
        open_actions=open_actions,
        seed=seed,
        unit_ids=[plan.unit_id] if plan.unit_id is not None else None,
        exclude_case_refs=sorted(excluded_case_refs(session, rnd)),
        purpose=DrawPurpose.ROUND,
        note=f"{plan.name} {rnd.period_label}",
        extra_cases=extra_cases,
    )
    now = utcnow()
    previous_id = rnd.draw_id
    for entry in rnd.draw_history:
        if entry.replaced_at is None:
            entry.replaced_at = now
            entry.replaced_by_name = audit.actor_name(actor)
            entry.reason = reason
    rnd.draw_history.append(
        RoundDraw(draw=draw, attached_by_name=audit.actor_name(actor), attached_at=now)
    )
    rnd.draw_id = draw.id
    rnd.snapshot_id = snapshot.id
    rnd.waiting_reason = None
    rnd.waiting_notified = False
    if rnd.status == RoundStatus.PLANNED:
        rnd.status = RoundStatus.DRAWN
    session.flush()
    audit.record(
        session,
        actor,
        "replace_draw" if previous_id else "draw",
        "round",
        rnd.id,
        f"Stikprøve {draw.id} ({draw.sample_size} sager) til {plan.name} {rnd.period_label}",
        {"draw_id": draw.id, "previous_draw_id": previous_id, "reason": reason or None},
    )
    return draw


def transition(session: Session, actor: User | None, rnd: Round, target: str) -> Round:
    """Move a round to ``target`` if allowed (drawn -> in review -> closed; reopen)."""
    if target not in TRANSITIONS.get(rnd.status, ()):
        raise RoundError(
            _(
                "En runde med status «%(status)s» kan ikke sættes til «%(target)s».",
                status=rnd.status_label,
                target=STATUSES.get(target, target),
            )
        )
    old = rnd.status
    rnd.status = target
    rnd.closed_at = utcnow() if target == RoundStatus.CLOSED else None
    if target == RoundStatus.IN_REVIEW:
        rnd.themes_provisional = False  # the review has started with the themes it has
    session.flush()
    with force_locale("da"):  # the audit log is Danish whatever the UI language
        summary = f"{rnd.plan.name} {rnd.period_label}: {STATUSES[old]} → {STATUSES[target]}"
    audit.record(session, actor, "status", "round", rnd.id, summary, {"from": old, "to": target})
    return rnd


@dataclass(frozen=True)
class RoundRow:
    """One line of ``tilsyn rounds list``."""

    plan: str
    period: str
    status: str
    draw_id: int | None
    sample_size: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "period": self.period,
            "status": self.status,
            "draw_id": self.draw_id,
            "sample_size": self.sample_size,
        }


def round_rows(session: Session) -> list[RoundRow]:
    rows = session.execute(
        select(
            SupervisionPlan.name,
            Round.period_label,
            Round.status,
            Round.draw_id,
            Draw.sample_size,
        )
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .outerjoin(Draw, Round.draw_id == Draw.id)
        .order_by(SupervisionPlan.name, Round.period_start)
    ).all()
    return [RoundRow(p, label, st, d, n) for p, label, st, d, n in rows]
