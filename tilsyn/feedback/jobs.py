"""Scheduler jobs of the feedback package: the daily reminders and weekly digests.

The scheduler process (top of the stack) runs :func:`reminders_once` with its ``--once`` run and
as a daily job at ``JOB_HOUR``:``JOB_MINUTE`` local time.
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
JOB_NAME = "Påmindelser om feedback og opfølgningspunkter"
#: Daily, local time (after the hourly round job at minute 5).
JOB_HOUR, JOB_MINUTE = 6, 20


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
