"""The scheduler process: APScheduler 3 in its own process, jobs stored in the app database.

Never started inside web workers. Three jobs:

* ``run_due`` every hour (at minute 5): creates, themes and draws due rounds and queues
  reminders (:func:`tilsyn.rounds.scheduled.run_due`, with the prior findings of
  :func:`tilsyn.reviews.findings.prior_findings_by_caseworker` for the risk scores);
* ``feedback_reminders`` daily: reminders about unacknowledged feedback and follow-up actions
  near or past their due date, and weekly digests (:func:`tilsyn.feedback.jobs.reminders_once`);
* ``deliver`` every minute: sends the outbox
  (:func:`tilsyn.notifications.services.deliver_pending`).

Jobs live in APScheduler's ``apscheduler_jobs`` table (the database's migrations ignore it).
``tilsyn scheduler`` first runs everything due once (catch-up after downtime), then starts the
jobs; ``coalesce`` plus a long ``misfire_grace_time`` make a late job run once, not many
times. Two scheduler processes at once are safe: ``run_due`` serialises on a database lock and
round creation is unique per plan and period.

This module is at the top of the stack (it builds the app and composes rounds with reviews).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from tilsyn import create_app
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.extensions import db
from tilsyn.feedback.jobs import JOB_HOUR as FEEDBACK_JOB_HOUR
from tilsyn.feedback.jobs import JOB_ID as FEEDBACK_JOB_ID
from tilsyn.feedback.jobs import JOB_MINUTE as FEEDBACK_JOB_MINUTE
from tilsyn.feedback.jobs import JOB_NAME as FEEDBACK_JOB_NAME
from tilsyn.feedback.jobs import reminders_once
from tilsyn.feedback.loop import followup_allowance, open_action_counts
from tilsyn.models_base import utcnow
from tilsyn.notifications.services import deliver_pending, pending_count
from tilsyn.quality.calibration import assign_pending
from tilsyn.reviews.findings import prior_findings_by_caseworker
from tilsyn.rounds.models import SupervisionPlan
from tilsyn.rounds.scheduled import acquire_run_lock, run_due
from tilsyn.settings import local_today

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
RUN_DUE_JOB_ID = "tilsyn-run-due"
DELIVER_JOB_ID = "tilsyn-deliver-mail"
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600

_app: Flask | None = None


def run_due_once(app: Flask, today: date, *, attempts: int = 3) -> list[str]:
    """Run :func:`run_due` in its own transaction and commit; retried if a concurrent run won
    a race (IntegrityError) or the database was busy.

    The prior findings for the risk scores are read at the latest snapshot's date once the run
    lock is taken (the run draws from that snapshot)."""
    for attempt in range(1, attempts + 1):
        with app.app_context():
            try:
                session = db.session()
                acquire_run_lock(session)
                snapshot = latest_snapshot(session)
                prior = prior_findings_by_caseworker(session, snapshot.as_of) if snapshot else {}
                extra = _followup_allowances(session, snapshot.as_of) if snapshot else {}
                open_actions = open_action_counts(session, snapshot.as_of) if snapshot else None
                report = run_due(
                    session,
                    today,
                    config=app.config,
                    prior_findings=prior,
                    open_actions=open_actions,
                    extra_cases=extra,
                )
                # Calibration cases of the rounds just drawn (plans with the option).
                calibration = assign_pending(session)
                db.session.commit()
                return report.lines() + calibration
            except (IntegrityError, OperationalError) as exc:
                db.session.rollback()
                if attempt == attempts:
                    raise
                log.warning("Planlagt kørsel gentages efter samtidig kørsel: %s", exc)
            finally:
                db.session.remove()
    return []


def _followup_allowances(session: Any, as_of: date) -> dict[int, Mapping[int, tuple[int, str]]]:
    """Per active plan, the follow-up allowance at the snapshot date (caseworker id -> (f,
    reason)) for the plan's next draw."""
    plans = session.scalars(select(SupervisionPlan.id).where(SupervisionPlan.active.is_(True)))
    return {plan_id: followup_allowance(session, plan_id, as_of) for plan_id in plans}


def deliver_once(app: Flask, now: datetime | None = None) -> list[str]:
    with app.app_context():
        try:
            session = db.session()
            report = deliver_pending(session, now or utcnow(), app.config)
            db.session.commit()
            waiting = pending_count(session)
        finally:
            db.session.remove()
    lines = [f"Mail sendt: {report.sent}, fejlet: {report.failed}, venter: {waiting}"]
    lines += [f"Mailfejl: {e}" for e in report.errors]
    return lines


def run_once(app: Flask, today: date | None = None) -> list[str]:
    """What ``tilsyn scheduler --once`` does: everything due on ``today``, then the outbox."""
    day = today or local_today(app.config)
    lines = [f"Kørsel for {day:%Y-%m-%d}"]
    lines += run_due_once(app, day)
    lines += reminders_once(app, day)
    lines += deliver_once(app)
    return lines


def _current_app() -> Flask:
    global _app
    if _app is None:
        _app = create_app()
    return _app


def run_due_job() -> None:
    """Scheduler job (referenced by text so it can be stored in the job table)."""
    app = _current_app()
    today = local_today(app.config)
    log.info("Kørsel for %s", f"{today:%Y-%m-%d}")
    for line in run_due_once(app, today):
        log.info(line)


def feedback_reminders_job() -> None:
    """Daily: reminders about unacknowledged feedback and follow-up actions, weekly digests."""
    app = _current_app()
    for line in reminders_once(app, local_today(app.config)):
        log.info(line)


def deliver_job() -> None:
    """Send the outbox; logged at INFO only when something was sent or failed."""
    app = _current_app()
    lines = deliver_once(app)
    quiet = lines[0].startswith("Mail sendt: 0, fejlet: 0,")
    for line in lines:
        log.log(logging.DEBUG if quiet else logging.INFO, line)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """Log tilsyn's messages at ``level`` to standard error (the scheduler process).

    APScheduler's own messages ("Running job ...", every minute) are kept at WARNING.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("tilsyn")
    if not any(getattr(h, "_tilsyn_scheduler", False) for h in root.handlers):
        handler._tilsyn_scheduler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def build_scheduler(app: Flask, scheduler_class: Any = None) -> Any:
    """Configure a scheduler (default BlockingScheduler) with the database job store."""
    global _app
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    _app = app
    with app.app_context():
        engine = db.engine  # the app's own engine and pool (no second connection pool)
    cls = scheduler_class or BlockingScheduler
    scheduler = cls(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
        timezone=ZoneInfo(str(app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Copenhagen"))),
    )
    scheduler.add_job(
        "tilsyn.scheduler:run_due_job",
        "cron",
        minute=5,
        id=RUN_DUE_JOB_ID,
        name="Opret og træk forfaldne tilsynsrunder",
        replace_existing=True,
    )
    scheduler.add_job(
        "tilsyn.scheduler:feedback_reminders_job",
        "cron",
        hour=FEEDBACK_JOB_HOUR,
        minute=FEEDBACK_JOB_MINUTE,
        id=FEEDBACK_JOB_ID,
        name=FEEDBACK_JOB_NAME,
        replace_existing=True,
    )
    scheduler.add_job(
        "tilsyn.scheduler:deliver_job",
        "interval",
        minutes=1,
        id=DELIVER_JOB_ID,
        name="Send mail fra udbakken",
        replace_existing=True,
    )
    return scheduler


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("brug formatet ÅÅÅÅ-MM-DD") from exc


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due once, deliver mail, and exit.")
@click.option(
    "--now", "now", callback=_parse_date, default=None, help="Pretend today is YYYY-MM-DD."
)
@with_appcontext
def scheduler_command(once: bool, now: date | None) -> None:
    """The scheduler process (rounds, reminders, mail). Run exactly one per installation is
    enough; a second one is harmless.

    Logs every job run at INFO to standard error (rounds created, drawn and waiting,
    reminders, mail delivered); SIGTERM or Ctrl+C stops it cleanly (exit status 0).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        for line in run_once(app, now):
            click.echo(line)
        return
    if now is not None:
        raise click.UsageError("--now kan kun bruges sammen med --once.")
    configure_logging()
    # Catch up at start: whatever fell due while no scheduler was running is done now, once.
    for line in run_once(app):
        click.echo(line)
    sched = build_scheduler(app)
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    click.echo("Planlæggeren kører (stop med Ctrl+C).")
    log.info("Planlæggeren kører.")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        if sched.running:
            sched.shutdown(wait=False)
    log.info("Planlæggeren er stoppet.")
    click.echo("Planlæggeren er stoppet.")
