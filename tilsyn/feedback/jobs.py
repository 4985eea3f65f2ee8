"""Scheduler jobs of the feedback package: the daily reminders and weekly digests.

The scheduler process (top of the stack) runs :func:`reminders_once` with its ``--once`` run
and registers :func:`reminders_job` (by its text path, :data:`JOB_PATH`) as a daily job.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from tilsyn.extensions import db
from tilsyn.feedback import notices

log = logging.getLogger(__name__)

JOB_ID = "tilsyn-feedback-reminders"
JOB_PATH = "tilsyn.feedback.jobs:reminders_job"
JOB_NAME = "Påmindelser om feedback og opfølgningspunkter"
#: Daily, local time (after the hourly round job at minute 5).
JOB_HOUR, JOB_MINUTE = 6, 20

_app: Flask | None = None


def reminders_once(app: Flask, today: date) -> list[str]:
    """Queue the reminders and digests due on ``today`` in one transaction and commit."""
    with app.app_context():
        try:
            report = notices.run_reminders(db.session(), today, app.config)
            db.session.commit()
            return report.lines
        except (IntegrityError, OperationalError):
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def reminders_job() -> None:
    """Scheduler job (referenced by :data:`JOB_PATH` so it can be stored in the job table)."""
    from tilsyn.rounds import scheduler

    app = scheduler._current_app()
    for line in reminders_once(app, scheduler.local_today(app)):
        log.info(line)
