"""The scheduled run: due rounds, waiting, reminders, idempotency and concurrency."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
from tilsyn import scheduler
from tilsyn.extensions import db
from tilsyn.notifications.models import OutboxMessage
from tilsyn.rounds.models import Round, RoundStatus
from tilsyn.rounds.notices import RunReport, leader_addresses
from tilsyn.rounds.rounds import transition
from tilsyn.rounds.scheduled import run_due
from tilsyn.rounds.themes import set_round_themes, suggest_rotating_themes

TODAY = date(2026, 4, 1)  # first day of 2026-K2


def _prepare(session, org, **plan_args):
    setup_catalogue_and_model(session, org)
    org.users["leder"].email = "leder@example.org"
    org.users["admin"].email = "admin@example.org"
    plan = make_plan(session, org, **plan_args)
    session.commit()
    return plan


def _rounds(session):
    session.expire_all()
    return session.scalars(select(Round).order_by(Round.plan_id, Round.period_start)).all()


def test_run_due_creates_current_round_with_draw_and_is_idempotent(session, org):
    plan = _prepare(session, org, starts_on=TODAY)
    org_plan = make_plan(session, org, name="Hele organisationen", unit_id=None, starts_on=TODAY)
    make_org_snapshot(session, org, TODAY - timedelta(days=10))
    session.commit()
    report = run_due(session, TODAY, prior_findings={})
    session.commit()
    assert sorted(report.created) == [f"{org_plan.name} 2026-K2", f"{plan.name} 2026-K2"]
    rounds = _rounds(session)
    assert [(r.plan_id, r.period_label, r.status) for r in rounds] == [
        (plan.id, "2026-K2", RoundStatus.DRAWN),
        (org_plan.id, "2026-K2", RoundStatus.DRAWN),
    ]
    assert rounds
    assert all(r.draw is not None and r.draw.sample_size > 0 for r in rounds)
    # The org-wide plan samples every team, the Team A plan only Team A.
    assert rounds[1].draw.sample_size > rounds[0].draw.sample_size
    again = run_due(session, TODAY + timedelta(days=1), prior_findings={})
    session.commit()
    assert again.created == [] and again.drawn == []
    assert len(_rounds(session)) == 2


def test_catch_up_covers_previous_period_only_and_not_before_plan_start(session, org):
    _prepare(session, org, starts_on=date(2025, 1, 1))
    report = run_due(session, TODAY, prior_findings={})
    session.commit()
    labels = [r.period_label for r in _rounds(session)]
    assert labels == ["2026-K1", "2026-K2"]  # not 2025-K1 .. 2025-K4
    assert len(report.created) == 2


def test_old_snapshot_waits_notifies_once_and_draws_later(session, org):
    plan = _prepare(session, org, starts_on=TODAY)
    make_org_snapshot(session, org, TODAY - timedelta(days=120))
    session.commit()
    report = run_due(session, TODAY, prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.status == RoundStatus.PLANNED and rnd.draw_id is None
    assert "nyere udtræk" in (rnd.waiting_reason or "")
    assert len(report.waiting) == 1
    mails = session.scalars(select(OutboxMessage)).all()
    assert [(m.to, m.sent_at) for m in mails] == [("leder@example.org", None)]
    assert plan.name in mails[0].subject
    # Same reason again the next day: no second notification.
    run_due(session, TODAY + timedelta(days=1), prior_findings={})
    session.commit()
    assert session.scalar(select(func.count(OutboxMessage.id))) == 1
    # A fresh export arrives: the next run draws the waiting round.
    make_org_snapshot(session, org, TODAY + timedelta(days=2))
    session.commit()
    report = run_due(session, TODAY + timedelta(days=2), prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    assert (
        rnd.status == RoundStatus.DRAWN and rnd.draw_id is not None and rnd.waiting_reason is None
    )
    assert len(report.drawn) == 1 and report.created == []


def _reminder_days(session, start, end, config=None):
    """Run the scheduler every day from ``start`` to ``end``; the days that sent a reminder."""
    days = []
    day = start
    while day <= end:
        if run_due(session, day, config=config, prior_findings={}).reminders:
            days.append(day)
        # A second run the same day never repeats the reminder.
        assert run_due(session, day, config=config, prior_findings={}).reminders == []
        session.commit()
        day += timedelta(days=1)
    return days


def test_drawn_round_reminded_14_and_3_days_before_then_weekly_when_overdue(session, org):
    _prepare(session, org, starts_on=TODAY, review_weeks=6)
    make_org_snapshot(session, org, TODAY)
    session.commit()
    run_due(session, TODAY, prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.status == RoundStatus.DRAWN  # the scheduler leaves new rounds drawn, not in review
    deadline = rnd.review_deadline
    assert deadline == TODAY + timedelta(weeks=6)
    days = _reminder_days(session, deadline - timedelta(days=20), deadline + timedelta(days=16))
    offsets = [(d - deadline).days for d in days]
    assert offsets == [-14, -3, 1, 8, 15]
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Påmind%")))
    bodies = [m.body for m in mails]
    assert len(bodies) == 5 and all(m for m in bodies)
    assert "om 14 dage" in bodies[0] and "overskredet med 1 dag " in bodies[2]
    # A closed round gets no more reminders.
    transition(session, None, rnd, RoundStatus.IN_REVIEW)
    transition(session, None, rnd, "closed")
    session.commit()
    assert run_due(session, deadline + timedelta(days=22), prior_findings={}).reminders == []


def test_waiting_round_is_reminded_and_reminders_are_configurable(session, org):
    _prepare(session, org, starts_on=TODAY, review_weeks=4)
    session.commit()
    run_due(session, TODAY, prior_findings={})  # no snapshot: the round waits, planned
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.status == RoundStatus.PLANNED and rnd.waiting_reason
    deadline = rnd.review_deadline
    config = {"ROUND_REMINDER_DAYS_BEFORE": [5, 1], "ROUND_OVERDUE_REMINDER_DAYS": 3}
    days = _reminder_days(session, TODAY, deadline + timedelta(days=8), config)
    assert [(d - deadline).days for d in days] == [-5, -1, 1, 4, 7]
    with pytest.raises(ValueError, match="ROUND_REMINDER_DAYS_BEFORE"):
        run_due(session, TODAY, config={"ROUND_REMINDER_DAYS_BEFORE": ["x"]}, prior_findings={})


def test_a_missed_reminder_day_sends_one_reminder_not_a_backlog(session, org):
    _prepare(session, org, starts_on=TODAY, review_weeks=6)
    make_org_snapshot(session, org, TODAY)
    session.commit()
    run_due(session, TODAY, prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    # The scheduler was down from before the first reminder until after the deadline.
    late = run_due(session, rnd.review_deadline + timedelta(days=10), prior_findings={})
    session.commit()
    assert len(late.reminders) == 1 and "overskredet" in late.reminders[0]


def test_notices_fall_back_to_admins_and_wait_when_nobody_has_an_address(session, org, caplog):
    setup_catalogue_and_model(session, org)
    make_plan(session, org, starts_on=TODAY, review_weeks=1)
    org.users["leder"].email = None
    org.users["admin"].email = None
    session.commit()
    # Nobody has an address: nothing queued, nothing marked as done, a warning logged.
    with caplog.at_level(logging.WARNING, logger="tilsyn.rounds.notices"):
        report = run_due(session, TODAY + timedelta(days=1), prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.waiting_reason and not rnd.waiting_notified
    assert rnd.last_reminder_on is None  # the reminder was not claimed either
    assert session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert report.unnotified and report.notified == 0
    assert any("Ingen teamleder eller administrator" in r.message for r in caplog.records)
    assert any(line.startswith("Ikke sendt") for line in report.lines())
    # The unit's leader still has no address: the administrators get it instead, once.
    org.users["admin"].email = "admin@example.org"
    session.commit()
    report = run_due(session, TODAY + timedelta(days=2), prior_findings={})
    session.commit()
    session.expire_all()
    assert rnd.waiting_notified and rnd.last_reminder_on == TODAY + timedelta(days=2)
    mails = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.to for m in mails} == {"admin@example.org"}
    assert sorted(m.subject.split(":")[0].split(" ")[0] for m in mails) == [
        "Påmindelse",
        "Tilsynsrunde",
    ]
    run_due(session, TODAY + timedelta(days=2), prior_findings={})
    session.commit()
    assert session.scalar(select(func.count(OutboxMessage.id))) == 2
    # Once the leader has an address, the leader is told (not the administrators).
    assert leader_addresses(session, rnd.plan) == ["admin@example.org"]
    org.users["leder"].email = "ikke-en-adresse"  # skipped, does not stop the run
    session.commit()
    assert leader_addresses(session, rnd.plan) == ["admin@example.org"]
    assert run_due(session, TODAY + timedelta(days=3), prior_findings={}).created == []
    session.rollback()
    org.users["leder"].email = "leder@example.org"
    session.commit()
    assert leader_addresses(session, rnd.plan) == ["leder@example.org"]


def test_leader_choice_round_gets_provisional_themes_and_the_leader_is_asked(session, org):
    plan = _prepare(session, org, starts_on=TODAY, rotating=3, per_round=1, mode="leader_choice")
    make_org_snapshot(session, org, TODAY)
    session.commit()
    report = run_due(session, TODAY, prior_findings={})
    session.commit()
    (rnd,) = _rounds(session)
    first = suggest_rotating_themes(session, plan, rnd.period_start).primary[0]
    assert [rt.theme_id for rt in rnd.themes if not rt.is_core] == [first.theme.id]
    assert {rt.theme_id for rt in rnd.themes if rt.is_core} == {t.id for t in plan.core_themes}
    assert rnd.themes_provisional and rnd.themes_notified and rnd.status == RoundStatus.DRAWN
    assert len(report.asked) == 1
    asked = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.like("Vælg temaer%"))
    ).all()
    assert [m.to for m in asked] == ["leder@example.org"]
    assert first.theme.name in asked[0].body
    again = run_due(session, TODAY + timedelta(days=1), prior_findings={})
    session.commit()
    assert again.asked == [] and again.created == []
    # The leader confirms another theme: no longer provisional.
    other = plan.rotating_themes[2]
    set_round_themes(session, org.users["leder"], rnd, [other.id])
    session.commit()
    assert not rnd.themes_provisional
    assert [rt.theme_id for rt in rnd.themes if not rt.is_core] == [other.id]


def test_catch_up_of_a_period_that_is_over_gets_a_deadline_from_today(session, org):
    _prepare(session, org, starts_on=date(2026, 1, 1), review_weeks=6)
    run_due(session, TODAY, prior_findings={})
    session.commit()
    previous, current = _rounds(session)
    assert previous.period_label == "2026-K1"
    assert previous.review_deadline == TODAY + timedelta(weeks=6)  # not 2026-02-12
    assert current.review_deadline == TODAY + timedelta(weeks=6)


def test_run_lock_makes_a_second_run_wait_for_the_first(app, session, org):
    """While one run holds the lock (uncommitted), a second run waits and then finds the round.

    Without the lock the second run does not see the first one's uncommitted round, tries to
    insert the same round and fails on the unique constraint (or SQLite's write lock).
    """
    _prepare(session, org, starts_on=TODAY)
    make_org_snapshot(session, org, TODAY)
    session.commit()
    first_ran = threading.Event()
    results: dict[str, object] = {}
    held = 1.5

    def first() -> None:
        with app.app_context():
            try:
                results["first"] = run_due(db.session(), TODAY, prior_findings={})
                first_ran.set()
                time.sleep(held)  # keep the lock and the uncommitted round for a while
                results["released"] = time.monotonic()
                db.session.commit()
            except Exception as exc:  # recorded and asserted below
                results["first"] = exc
                first_ran.set()
            finally:
                db.session.remove()

    def second() -> None:
        assert first_ran.wait(60)
        with app.app_context():
            try:
                results["second"] = run_due(db.session(), TODAY, prior_findings={})
                results["second_done"] = time.monotonic()
                db.session.commit()
            except Exception as exc:  # recorded and asserted below
                results["second"] = exc
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert isinstance(results["first"], RunReport), results
    assert isinstance(results["second"], RunReport), results
    assert len(results["first"].created) == 1
    assert results["second"].created == [] and results["second"].drawn == []
    assert results["second_done"] >= results["released"]  # it waited for the first
    assert [(r.period_label, r.status) for r in _rounds(session)] == [
        ("2026-K2", RoundStatus.DRAWN)
    ]


def test_two_concurrent_runs_in_threads_create_one_round(app, session, org):
    _prepare(session, org, starts_on=date(2026, 1, 1))
    make_plan(session, org, name="Hele organisationen", unit_id=None, starts_on=TODAY)
    make_org_snapshot(session, org, TODAY)
    session.commit()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(scheduler.run_due_once(app, TODAY))
        except Exception as exc:  # recorded and asserted below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results
    assert all(isinstance(r, list) for r in results), results
    rounds = _rounds(session)
    assert sorted((r.plan_id, r.period_label) for r in rounds) == sorted(
        {(r.plan_id, r.period_label) for r in rounds}
    )
    assert len(rounds) == 3  # Team A plan: K1 (catch-up) and K2; org-wide plan: K2
    created = [line for r in results for line in r if line.startswith("Oprettet")]
    assert len(created) == 3
    draws = {r.draw_id for r in rounds}
    assert None not in draws and len(draws) == 3


def test_two_scheduler_processes_at_once(app, session, org, database_url):
    _prepare(session, org, starts_on=TODAY)
    make_org_snapshot(session, org, TODAY)
    session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "TILSYN_ENV": "testing"}
    tilsyn = str(Path(sys.executable).with_name("tilsyn"))
    command = [tilsyn, "scheduler", "--once", "--now", TODAY.isoformat()]
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("Oprettet:") == 1 and stdout.count("Trukket:") == 1
    rounds = _rounds(session)
    assert [(r.period_label, r.status) for r in rounds] == [("2026-K2", RoundStatus.DRAWN)]
    from tilsyn.rounds.commands import rounds_group

    listing = app.test_cli_runner().invoke(rounds_group, ["list", "--json"])
    assert listing.exit_code == 0, listing.output
    assert json.loads(listing.output) == [
        {
            "plan": rounds[0].plan.name,
            "period": "2026-K2",
            "status": RoundStatus.DRAWN,
            "draw_id": rounds[0].draw_id,
            "sample_size": rounds[0].draw.sample_size,
        }
    ]
    text = app.test_cli_runner().invoke(rounds_group, ["list"]).output
    assert "2026-K2" in text and rounds[0].plan.name in text


def test_background_scheduler_stores_its_jobs_in_the_database(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = scheduler.build_scheduler(app, BackgroundScheduler)
    sched.start(paused=True)
    try:
        jobs = {job.id: job for job in sched.get_jobs()}
        assert set(jobs) == {
            scheduler.RUN_DUE_JOB_ID,
            scheduler.DELIVER_JOB_ID,
            scheduler.FEEDBACK_JOB_ID,
        }
        assert jobs.values()
        assert all(job.coalesce and job.misfire_grace_time >= 24 * 3600 for job in jobs.values())
        with app.app_context():
            from sqlalchemy import inspect

            from tilsyn.extensions import db

            assert scheduler.JOBS_TABLE in inspect(db.engine).get_table_names()
    finally:
        sched.remove_all_jobs()
        sched.shutdown(wait=False)
