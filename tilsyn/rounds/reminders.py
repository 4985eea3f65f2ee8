"""Deadline reminders for open rounds, at most one per reminder day."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tilsyn.rounds.models import (
    OPEN_STATUSES,
    Round,
)
from tilsyn.rounds.notices import RunReport, leader_addresses, note_nobody_to_tell, notify_leaders

log = logging.getLogger(__name__)

#: Deadline reminders go out this many days before a round's review deadline (config key
#: ``ROUND_REMINDER_DAYS_BEFORE``) ...
REMINDER_DAYS_BEFORE: tuple[int, ...] = (14, 3)
#: ... and, once the deadline has passed, the day after it and then every this many days
#: (``ROUND_OVERDUE_REMINDER_DAYS``; 0 = no reminders after the deadline).
OVERDUE_REMINDER_DAYS = 7


@dataclass(frozen=True)
class ReminderPolicy:
    """When open rounds get deadline reminders.

    ``days_before``: reminders that many days before the deadline (e.g. 14 and 3);
    ``overdue_every``: after the deadline, a reminder the day after it and then every that many
    days (0: none). A run that was down on a reminder day sends one reminder for the latest
    missed reminder day, never a backlog.
    """

    days_before: tuple[int, ...] = REMINDER_DAYS_BEFORE
    overdue_every: int = OVERDUE_REMINDER_DAYS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReminderPolicy:
        raw_before = config.get("ROUND_REMINDER_DAYS_BEFORE", REMINDER_DAYS_BEFORE)
        raw_every = config.get("ROUND_OVERDUE_REMINDER_DAYS", OVERDUE_REMINDER_DAYS)
        if isinstance(raw_before, int) and not isinstance(raw_before, bool):
            raw_before = [raw_before]
        try:
            before = tuple(sorted({int(d) for d in raw_before}, reverse=True))
            every = int(raw_every)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "ROUND_REMINDER_DAYS_BEFORE skal være en liste af hele dage (fx [14, 3]) og "
                "ROUND_OVERDUE_REMINDER_DAYS et helt antal dage."
            ) from exc
        if any(d < 0 or d > 365 for d in before) or not 0 <= every <= 365:
            raise ValueError("Påmindelsesdagene skal ligge mellem 0 og 365.")
        return cls(before, every)

    @property
    def horizon(self) -> int:
        """How many days before a deadline the first reminder can come."""
        return max(self.days_before, default=0)

    def reminder_day(self, deadline: date, today: date) -> date | None:
        """The latest reminder day on or before ``today`` for ``deadline`` (None: none yet)."""
        days = [deadline - timedelta(days=d) for d in self.days_before]
        if self.overdue_every > 0 and today > deadline:
            late = (today - deadline).days - 1
            days.append(deadline + timedelta(days=1 + late - late % self.overdue_every))
        due = [d for d in days if d <= today]
        return max(due, default=None)


def _reminder_text(deadline: date, today: date) -> str:
    days = (deadline - today).days
    if days > 1:
        return f"om {days} dage ({deadline:%d-%m-%Y})"
    if days == 1:
        return f"i morgen ({deadline:%d-%m-%Y})"
    if days == 0:
        return f"i dag ({deadline:%d-%m-%Y})"
    late = -days
    return f"overskredet med {late} {'dag' if late == 1 else 'dage'} ({deadline:%d-%m-%Y})"


def send_reminders(
    session: Session, today: date, policy: ReminderPolicy, report: RunReport
) -> None:
    """Remind the leaders of open rounds (planned, drawn or in review) of their deadline.

    At most one reminder per reminder day (``last_reminder_on`` is claimed with a conditional
    UPDATE, so concurrent runs do not both send). If nobody has an e-mail address the claim is
    not made and a later run tries again.
    """
    candidates = session.scalars(
        select(Round)
        .where(
            Round.status.in_(OPEN_STATUSES),
            Round.review_deadline.is_not(None),
            Round.review_deadline <= today + timedelta(days=policy.horizon),
        )
        .order_by(Round.id)
    ).all()
    for rnd in candidates:
        deadline = rnd.review_deadline
        assert deadline is not None
        day = policy.reminder_day(deadline, today)
        if day is None or (rnd.last_reminder_on is not None and rnd.last_reminder_on >= day):
            continue
        label = f"{rnd.plan.name} {rnd.period_label}"
        subject = f"Påmindelse: tilsynsrunde {label}"
        if not leader_addresses(session, rnd.plan):
            note_nobody_to_tell(rnd.plan, subject, report)
            continue
        claimed = session.execute(
            update(Round)
            .where(
                Round.id == rnd.id,
                or_(Round.last_reminder_on.is_(None), Round.last_reminder_on < day),
            )
            .values(last_reminder_on=today)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        session.refresh(rnd)
        when = _reminder_text(deadline, today)
        status = rnd.status_label.lower()
        report.reminders.append(f"{label}: frist {when}")
        notify_leaders(
            session,
            rnd.plan,
            subject,
            f"Fristen for gennemgangen af tilsynsrunden {label} er {when}.\n"
            f"Runden har status: {status}.\n",
            report,
        )
