"""The scheduled run (``run_due``): create, theme and draw every round that is due.

Rounds are created by a leader by hand or by :func:`run_due` (the scheduler and
``tilsyn scheduler --once``). :func:`run_due` first takes a run lock (``pg_advisory_xact_lock``
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so that two schedulers running at once are
serialised and the second one finds the rounds already there (round creation is unique per plan
and period)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.rounds.models import RotationMode, Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.notices import RunReport, notify_leaders
from tilsyn.rounds.periods import Period, period_containing, previous_period
from tilsyn.rounds.reminders import ReminderPolicy, send_reminders
from tilsyn.rounds.rounds import (
    create_round,
    draw_round,
    plan_start,
    round_for,
    snapshot_is_recent,
)

#: Advisory lock key for the scheduled run on PostgreSQL ("tilsyn" in hex-ish digits).
RUN_LOCK_KEY = 0x7115_0005


def acquire_run_lock(session: Session) -> None:
    """Serialise scheduled runs for the rest of the current transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: start the transaction with
    ``BEGIN IMMEDIATE`` (the write lock is taken before anything is read, so a second run waits
    for the first to commit instead of failing halfway). If the SQLite connection already holds
    an open write transaction it holds the database's only write lock already.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RUN_LOCK_KEY})
    elif dialect == "sqlite":
        raw = connection.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def due_periods(plan: SupervisionPlan, today: date) -> list[Period]:
    """Periods the scheduler should have a round for on ``today``.

    The current period and, as catch-up after downtime, the previous one: never further back
    (an older missed round is better created by hand with a fresh decision), and never before
    the plan's first period (``starts_on``).
    """
    current = period_containing(plan.cadence, today)
    first = period_containing(plan.cadence, plan_start(plan)).start
    return [p for p in (previous_period(plan.cadence, current), current) if p.start >= first]


def run_due(
    session: Session,
    today: date,
    *,
    prior_findings: Mapping[int, float],
    config: Mapping[str, Any] | None = None,
    open_actions: Mapping[int, float] | None = None,
    extra_cases: Mapping[int, Mapping[int, tuple[int, str]]] | None = None,
) -> RunReport:
    """Create, theme and draw every round that is due on ``today``; queue notices and reminders.

    Takes the run lock first (see :func:`acquire_run_lock`); flushes, the caller commits. The
    draw uses the latest snapshot if it is recent enough for the period, otherwise the round
    waits (``waiting_reason``) and the leaders are told. Rounds that wait are drawn by a later
    run as soon as a recent snapshot exists. Rounds of leader-choice plans get the top
    suggestions as provisional themes and the leaders are asked to confirm or choose. Notices
    nobody could be sent (no e-mail address) are retried by later runs.

    ``prior_findings`` are the caseworkers' prior findings at the latest snapshot's date
    (:func:`tilsyn.reviews.findings.prior_findings_by_caseworker`, supplied by the scheduler
    process above reviews); the draws of the run use them for the risk scores. ``extra_cases``
    maps a plan id to its follow-up allowance at that date (caseworker id -> (f, reason),
    :func:`tilsyn.feedback.loop.followup_allowance`, supplied by the scheduler process above
    feedback): those caseworkers get n + f cases in the plan's draw; ``open_actions`` (caseworker
    id -> open follow-up actions at that date) feeds the risk attribute of that name.
    """
    acquire_run_lock(session)
    policy = ReminderPolicy.from_config(config or {})
    report = RunReport()
    plans = session.scalars(
        select(SupervisionPlan).where(SupervisionPlan.active.is_(True)).order_by(SupervisionPlan.id)
    ).all()
    for plan in plans:
        for period in due_periods(plan, today):
            rnd = round_for(session, plan, period.label)
            label = f"{plan.name} {period.label}"
            if rnd is None:
                rnd = create_round(
                    session,
                    None,
                    plan,
                    period,
                    today=today,
                    provisional=plan.rotation_mode == RotationMode.LEADER_CHOICE,
                )
                report.created.append(label)
            if rnd.status == RoundStatus.PLANNED and rnd.draw_id is None:
                extra = (extra_cases or {}).get(plan.id, {})
                _draw_or_wait(
                    session, plan, rnd, label, report, prior_findings, extra, open_actions
                )
            if rnd.themes_provisional and not rnd.themes_notified:
                _ask_for_themes(session, plan, rnd, label, report)
    send_reminders(session, today, policy, report)
    return report


def _draw_or_wait(
    session: Session,
    plan: SupervisionPlan,
    rnd: Round,
    label: str,
    report: RunReport,
    prior_findings: Mapping[int, float],
    extra_cases: Mapping[int, tuple[int, str]],
    open_actions: Mapping[int, float] | None,
) -> None:
    snapshot = latest_snapshot(session)
    reason: str | None = None
    if snapshot is None:
        reason = "Der er intet sagsudtræk. Indlæs et udtræk, så trækkes stikprøven."
    elif not snapshot_is_recent(plan, rnd.period_start, snapshot):
        reason = (
            f"Det nyeste sagsudtræk er fra {snapshot.as_of:%d-%m-%Y}, mere end "
            f"{plan.snapshot_max_age_days} dage før rundens start. Indlæs et nyere udtræk."
        )
    else:
        try:
            # The sampling service validates everything before it writes, so a refusal
            # leaves nothing half-stored in the transaction.
            draw = draw_round(
                session,
                None,
                rnd,
                snapshot=snapshot,
                prior_findings=prior_findings,
                open_actions=open_actions,
                extra_cases=extra_cases,
            )
        except ValueError as exc:
            reason = f"Stikprøven kunne ikke trækkes: {exc}"
        else:
            report.drawn.append(f"{label} (stikprøve {draw.id}, {draw.sample_size} sager)")
            return
    if rnd.waiting_reason != reason:
        rnd.waiting_reason = reason
        rnd.waiting_notified = False
        report.waiting.append(f"{label}: {reason}")
    if rnd.waiting_notified:
        return  # already waiting for the same reason; the leaders were told
    sent = notify_leaders(
        session,
        plan,
        f"Tilsynsrunde {label} venter",
        f"Tilsynsrunden {label} er oprettet, men stikprøven er ikke trukket.\n\n{reason}\n",
        report,
    )
    rnd.waiting_notified = sent > 0
    session.flush()


def _ask_for_themes(
    session: Session, plan: SupervisionPlan, rnd: Round, label: str, report: RunReport
) -> None:
    """Ask the leaders of a leader-choice plan to confirm or choose the round's themes."""
    if rnd.status not in (RoundStatus.PLANNED, RoundStatus.DRAWN):
        return
    picked = [rt.theme.name for rt in rnd.themes if not rt.is_core]
    core = [rt.theme.name for rt in rnd.themes if rt.is_core]
    body = (
        f"Tilsynsrunden {label} er oprettet. Planen lader lederen vælge de roterende temaer.\n\n"
        f"Foreløbigt valgt (ikke stillet i længst tid): {', '.join(picked) or 'ingen'}.\n"
        f"Fast kerne: {', '.join(core) or 'ingen'}.\n\n"
        "Bekræft eller vælg andre temaer på rundens side under Tilsynsrunder, før "
        "gennemgangen begynder.\n"
    )
    sent = notify_leaders(session, plan, f"Vælg temaer for tilsynsrunde {label}", body, report)
    if sent:
        rnd.themes_notified = True
        report.asked.append(f"{label}: {', '.join(picked) or 'ingen'}")
    session.flush()
