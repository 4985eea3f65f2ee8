"""The scheduler process: APScheduler 3 in its own process, jobs stored in the app database.

Never started inside web workers. Two jobs:

* ``run_due`` every hour (at minute 5): creates, themes and draws due rounds and queues
  reminders (:func:`tilsyn.rounds.services.run_due`);
* ``deliver`` every minute: sends the outbox
  (:func:`tilsyn.notifications.services.deliver_pending`).

Jobs live in APScheduler's ``apscheduler_jobs`` table (the database's migrations ignore it).
``tilsyn scheduler`` first runs everything due once (catch-up after downtime), then starts the
jobs; ``coalesce`` plus a long ``misfire_grace_time`` make a late job run once, not many
times. Two scheduler processes at once are safe: ``run_due`` serialises on a database lock and
round creation is unique per plan and period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from tilsyn.extensions import db
from tilsyn.models_base import utcnow

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
RUN_DUE_JOB_ID = "tilsyn-run-due"
DELIVER_JOB_ID = "tilsyn-deliver-mail"
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600

_app: Flask | None = None


def local_today(app: Flask) -> date:
    """Today's date in the installation's time zone (``BABEL_DEFAULT_TIMEZONE``, by default
    Europe/Copenhagen): the scheduler and the web pages agree on which period is current."""
    zone = ZoneInfo(str(app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Copenhagen")))
    return utcnow().replace(tzinfo=UTC).astimezone(zone).date()


@dataclass
class OnceResult:
    lines: list[str] = field(default_factory=list)
    created: int = 0
    sent: int = 0
    failed: int = 0


def run_due_once(app: Flask, today: date, *, attempts: int = 3) -> list[str]:
    """Run :func:`run_due` in its own transaction and commit; retried if a concurrent run won
    a race (IntegrityError) or the database was busy."""
    from tilsyn.rounds import services

    for attempt in range(1, attempts + 1):
        with app.app_context():
            try:
                report = services.run_due(db.session(), today, config=app.config)
                db.session.commit()
                return report.lines()
            except (IntegrityError, OperationalError) as exc:
                db.session.rollback()
                if attempt == attempts:
                    raise
                log.warning("Planlagt kørsel gentages efter samtidig kørsel: %s", exc)
            finally:
                db.session.remove()
    return []


def deliver_once(app: Flask, now: datetime | None = None) -> list[str]:
    from tilsyn.notifications import services as notifications

    with app.app_context():
        try:
            session = db.session()
            report = notifications.deliver_pending(session, now or utcnow(), app.config)
            db.session.commit()
            waiting = notifications.pending_count(session)
        finally:
            db.session.remove()
    lines = [f"Mail sendt: {report.sent}, fejlet: {report.failed}, venter: {waiting}"]
    lines += [f"Mailfejl: {e}" for e in report.errors]
    return lines


def run_once(app: Flask, today: date | None = None) -> list[str]:
    """What ``tilsyn scheduler --once`` does: everything due on ``today``, then the outbox."""
    day = today or local_today(app)
    lines = [f"Kørsel for {day:%Y-%m-%d}"]
    lines += run_due_once(app, day)
    lines += deliver_once(app)
    return lines


def _current_app() -> Flask:
    global _app
    if _app is None:
        from tilsyn import create_app

        _app = create_app()
    return _app


def run_due_job() -> None:
    """Scheduler job (referenced by text so it can be stored in the job table)."""
    app = _current_app()
    today = local_today(app)
    log.info("Kørsel for %s", f"{today:%Y-%m-%d}")
    for line in run_due_once(app, today):
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
        "tilsyn.rounds.scheduler:run_due_job",
        "cron",
        minute=5,
        id=RUN_DUE_JOB_ID,
        name="Opret og træk forfaldne tilsynsrunder",
        replace_existing=True,
    )
    scheduler.add_job(
        "tilsyn.rounds.scheduler:deliver_job",
        "interval",
        minutes=1,
        id=DELIVER_JOB_ID,
        name="Send mail fra udbakken",
        replace_existing=True,
    )
    return scheduler
