"""The scheduled run: due rounds, waiting, reminders, idempotency and concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.rounds.factories import make_plan, make_snapshot, setup_catalogue_and_model
from tilsyn.notifications.models import OutboxMessage
from tilsyn.rounds import scheduler, services
from tilsyn.rounds.models import DRAWN, IN_REVIEW, PLANNED, Round

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
    make_snapshot(session, org, TODAY - timedelta(days=10))
    session.commit()
    report = services.run_due(session, TODAY)
    session.commit()
    assert sorted(report.created) == [f"{org_plan.name} 2026-K2", f"{plan.name} 2026-K2"]
    rounds = _rounds(session)
    assert [(r.plan_id, r.period_label, r.status) for r in rounds] == [
        (plan.id, "2026-K2", DRAWN),
        (org_plan.id, "2026-K2", DRAWN),
    ]
    assert all(r.draw is not None and r.draw.sample_size > 0 for r in rounds)
    # The org-wide plan samples every team, the Team A plan only Team A.
    assert rounds[1].draw.sample_size > rounds[0].draw.sample_size
    again = services.run_due(session, TODAY + timedelta(days=1))
    session.commit()
    assert again.created == [] and again.drawn == []
    assert len(_rounds(session)) == 2


def test_catch_up_covers_previous_period_only_and_not_before_plan_start(session, org):
    _prepare(session, org, starts_on=date(2025, 1, 1))
    report = services.run_due(session, TODAY)
    session.commit()
    labels = [r.period_label for r in _rounds(session)]
    assert labels == ["2026-K1", "2026-K2"]  # not 2025-K1 .. 2025-K4
    assert len(report.created) == 2


def test_old_snapshot_waits_notifies_once_and_draws_later(session, org):
    plan = _prepare(session, org, starts_on=TODAY)
    make_snapshot(session, org, TODAY - timedelta(days=120))
    session.commit()
    report = services.run_due(session, TODAY)
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.status == PLANNED and rnd.draw_id is None
    assert "nyere udtræk" in (rnd.waiting_reason or "")
    assert len(report.waiting) == 1
    mails = session.scalars(select(OutboxMessage)).all()
    assert [(m.to, m.sent_at) for m in mails] == [("leder@example.org", None)]
    assert plan.name in mails[0].subject
    # Same reason again the next day: no second notification.
    services.run_due(session, TODAY + timedelta(days=1))
    session.commit()
    assert session.scalar(select(func.count(OutboxMessage.id))) == 1
    # A fresh export arrives: the next run draws the waiting round.
    make_snapshot(session, org, TODAY + timedelta(days=2))
    session.commit()
    report = services.run_due(session, TODAY + timedelta(days=2))
    session.commit()
    (rnd,) = _rounds(session)
    assert rnd.status == DRAWN and rnd.draw_id is not None and rnd.waiting_reason is None
    assert len(report.drawn) == 1 and report.created == []


def test_reminders_once_per_day_before_deadline(session, org):
    _prepare(session, org, starts_on=TODAY, review_weeks=6)
    make_snapshot(session, org, TODAY)
    session.commit()
    services.run_due(session, TODAY)
    (rnd,) = _rounds(session)
    services.transition(session, None, rnd, IN_REVIEW)
    session.commit()
    deadline = rnd.review_deadline
    assert deadline == TODAY + timedelta(weeks=6)
    early = services.run_due(session, deadline - timedelta(days=8))
    assert early.reminders == []
    first = services.run_due(session, deadline - timedelta(days=7))
    same_day = services.run_due(session, deadline - timedelta(days=7))
    next_day = services.run_due(session, deadline - timedelta(days=6))
    session.commit()
    assert len(first.reminders) == 1 and same_day.reminders == [] and len(next_day.reminders) == 1
    subjects = session.scalars(select(OutboxMessage.subject)).all()
    assert sum("Påmindelse" in s for s in subjects) == 2


def test_two_concurrent_runs_in_threads_create_one_round(app, session, org):
    _prepare(session, org, starts_on=date(2026, 1, 1))
    make_plan(session, org, name="Hele organisationen", unit_id=None, starts_on=TODAY)
    make_snapshot(session, org, TODAY)
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
    make_snapshot(session, org, TODAY)
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
    assert [(r.period_label, r.status) for r in rounds] == [("2026-K2", DRAWN)]
    from tilsyn.rounds.commands import rounds_group

    listing = app.test_cli_runner().invoke(rounds_group, ["list", "--json"])
    assert listing.exit_code == 0, listing.output
    assert json.loads(listing.output) == [
        {
            "plan": rounds[0].plan.name,
            "period": "2026-K2",
            "status": DRAWN,
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
        assert set(jobs) == {scheduler.RUN_DUE_JOB_ID, scheduler.DELIVER_JOB_ID}
        assert all(job.coalesce and job.misfire_grace_time >= 24 * 3600 for job in jobs.values())
        with app.app_context():
            from sqlalchemy import inspect

            from tilsyn.extensions import db

            assert scheduler.JOBS_TABLE in inspect(db.engine).get_table_names()
    finally:
        sched.remove_all_jobs()
        sched.shutdown(wait=False)
