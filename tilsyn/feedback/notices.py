"""Notices about feedback and follow-up actions: single e-mails through the outbox, or held
back for a user's weekly digest. A notice never carries case content: a count, a round and a
link. Reminders (unacknowledged feedback, actions near or past their due date) and the weekly
digest are queued by :func:`run_reminders`, which the scheduler process calls daily.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.feedback.models import (
    ActionStatus,
    FeedbackRelease,
    FollowUpAction,
    NoticePreference,
    Owner,
    PendingNotice,
)
from tilsyn.models_base import utcnow
from tilsyn.notifications import services as notifications
from tilsyn.org.models import Caseworker
from tilsyn.permissions import Role

log = logging.getLogger(__name__)

#: Default: remind about unacknowledged feedback after this many days (config
#: ``FEEDBACK_ACK_REMINDER_DAYS``; 0 = never), and about actions this many days before the due
#: date (``ACTION_REMINDER_DAYS_BEFORE``) and every ``ACTION_OVERDUE_REMINDER_DAYS`` when overdue.
ACK_REMINDER_DAYS = 14
ACTION_DAYS_BEFORE = 3
ACTION_OVERDUE_DAYS = 7
DIGEST_DAYS = 7
FOOTER = "\n\nBeskeden indeholder ingen sagsoplysninger. Log ind i tilsyn for at se mere."


def base_url(config: Mapping[str, Any]) -> str:
    return str(config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def prefers_digest(session: Session, user: User) -> bool:
    pref = session.get(NoticePreference, user.id)
    return pref is not None and pref.weekly_digest


def set_preference(session: Session, actor: User, weekly_digest: bool) -> NoticePreference:
    """Choose single notices or a weekly digest (the actor's own preference)."""
    pref = session.get(NoticePreference, actor.id)
    if pref is None:
        pref = NoticePreference(user_id=actor.id, weekly_digest=weekly_digest)
        session.add(pref)
    pref.weekly_digest = weekly_digest
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "notice_preference",
        actor.id,
        "Ugentlig samlet besked" if weekly_digest else "Enkelte beskeder",
    )
    return pref


def notify(
    session: Session, user: User, subject: str, path: str, config: Mapping[str, Any]
) -> bool:
    """Tell ``user``: an e-mail now, or a line in the next weekly digest. False if the user has
    no e-mail address (logged)."""
    if not user.active or not (user.email or "").strip():
        log.warning(
            "Ingen e-mailadresse for %s; beskeden «%s» sendes ikke.", user.username, subject
        )
        return False
    if prefers_digest(session, user):
        session.add(PendingNotice(user_id=user.id, subject=subject))
        session.flush()
        return True
    body = f"{subject}.\n\nSe mere her: {base_url(config)}{path}{FOOTER}"
    notifications.enqueue(session, user.email or "", subject, body)
    return True


def caseworker_users(session: Session, caseworker_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.caseworker_id == caseworker_id,
                User.active.is_(True),
                User.role == Role.SAGSBEHANDLER.value,
            )
        )
    )


def unit_leaders(session: Session, caseworker: Caseworker) -> list[User]:
    """The active leaders of the caseworker's current unit; the administrators if none."""
    leaders = [u for u in caseworker.unit.leaders if u.active and u.role == Role.TEAMLEDER.value]
    if leaders:
        return leaders
    return list(
        session.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True)))
    )


def action_owners(session: Session, action: FollowUpAction) -> list[User]:
    """Who answers for an action now: the caseworker; the leaders when it is a leader's action
    or the caseworker is deactivated (or has no login)."""
    if action.owner == Owner.CASEWORKER and action.caseworker.active:
        users = caseworker_users(session, action.caseworker_id)
        if users:
            return users
    if action.owner == Owner.LEADER and action.owner_user_id is not None:
        owner = session.get(User, action.owner_user_id)
        if owner is not None and owner.active:
            return [owner]
    return unit_leaders(session, action.caseworker)


@dataclass
class ReminderReport:
    ack_reminders: int = 0
    action_reminders: int = 0
    digests: int = 0
    lines: list[str] = field(default_factory=list)


def _due(last: date | None, today: date, every: int) -> bool:
    return last is None or (today - last).days >= every


def _notify_all(
    session: Session, users: Iterable[User], subject: str, path: str, config: Mapping[str, Any]
) -> int:
    return sum(notify(session, u, subject, path, config) for u in users)


def run_reminders(session: Session, today: date, config: Mapping[str, Any]) -> ReminderReport:
    """Queue the reminders due on ``today`` and the weekly digests. Flushes; the caller commits.

    Running twice on one day queues nothing more (each reminder keeps its day)."""
    report = ReminderReport()
    ack_days = int(config.get("FEEDBACK_ACK_REMINDER_DAYS", ACK_REMINDER_DAYS))
    before = int(config.get("ACTION_REMINDER_DAYS_BEFORE", ACTION_DAYS_BEFORE))
    overdue_every = int(config.get("ACTION_OVERDUE_REMINDER_DAYS", ACTION_OVERDUE_DAYS))
    if ack_days > 0:
        limit = datetime.combine(today - timedelta(days=ack_days), time.max)
        releases = session.scalars(
            select(FeedbackRelease).where(
                FeedbackRelease.acknowledged_at.is_(None),
                FeedbackRelease.released_at <= limit,
            )
        ).all()
        per_caseworker: dict[int, list[FeedbackRelease]] = defaultdict(list)
        for release in releases:
            if _due(release.last_reminder_on, today, ack_days):
                per_caseworker[release.caseworker_id].append(release)
        for caseworker_id, items in per_caseworker.items():
            subject = f"Påmindelse: du har {len(items)} feedback, som ikke er kvitteret"
            report.ack_reminders += _notify_all(
                session, caseworker_users(session, caseworker_id), subject, "/min-feedback", config
            )
            for release in items:
                release.last_reminder_on = today
    actions = session.scalars(
        select(FollowUpAction).where(FollowUpAction.status == ActionStatus.OPEN.value)
    ).all()
    for action in actions:
        reminder, owners = _action_reminder(session, action, today, before, overdue_every)
        if reminder is None:
            continue
        report.action_reminders += _notify_all(
            session, owners, reminder, "/opfoelgning/mine", config
        )
        action.last_reminder_on = today
    report.digests = send_digests(session, today, config)
    session.flush()
    report.lines = [
        f"Feedback: {report.ack_reminders} påmindelser om kvittering, "
        f"{report.action_reminders} om opfølgningspunkter, {report.digests} ugentlige samlinger"
    ]
    return report


def send_digests(session: Session, today: date, config: Mapping[str, Any]) -> int:
    """One e-mail per user whose digest is due (a week since the last) and who has notices."""
    pending = session.scalars(
        select(PendingNotice)
        .where(PendingNotice.digested_at.is_(None))
        .order_by(PendingNotice.user_id, PendingNotice.id)
    ).all()
    per_user: dict[int, list[PendingNotice]] = defaultdict(list)
    for notice in pending:
        per_user[notice.user_id].append(notice)
    sent = 0
    now = utcnow()
    for user_id, notices in per_user.items():
        user = session.get(User, user_id)
        pref = session.get(NoticePreference, user_id)
        if user is None or pref is None:
            continue
        if not _due(pref.last_digest_on, today, DIGEST_DAYS):
            continue
        lines = "\n".join(f"- {n.subject}" for n in notices)
        if user.active and user.email:
            notifications.enqueue(
                session,
                user.email,
                f"Ugentlig oversigt fra tilsyn: {len(notices)} beskeder",
                f"{lines}\n\nSe mere her: {base_url(config)}/min-feedback{FOOTER}",
            )
            sent += 1
        for notice in notices:
            notice.digested_at = now
        pref.last_digest_on = today
    session.flush()
    return sent


def _action_reminder(
    session: Session, action: FollowUpAction, today: date, before: int, overdue_every: int
) -> tuple[str | None, list[User]]:
    """The reminder due today for an open action (subject and recipients), if any: once
    ``before`` days ahead of the due date to the owner; when overdue, to the owner and the
    leaders, then every ``overdue_every`` days (0: only once)."""
    last = action.last_reminder_on
    days_left = (action.due_date - today).days
    due = f"{action.due_date:%d-%m-%Y}"
    if 0 <= days_left <= before:
        if last is not None and (action.due_date - last).days <= before:
            return None, []
        return (
            f"Påmindelse: opfølgningspunkt #{action.id} har frist {due}",
            action_owners(session, action),
        )
    if days_left < 0:
        first = last is None or last <= action.due_date
        again = overdue_every > 0 and last is not None and (today - last).days >= overdue_every
        if not (first or again):
            return None, []
        owners = action_owners(session, action)
        for leader in unit_leaders(session, action.caseworker):
            if leader not in owners:
                owners.append(leader)
        return f"Opfølgningspunkt #{action.id} er overskredet (frist {due})", owners
    return None, []
