"""Notices through the outbox and a real local SMTP server (aiosmtpd): on release, reminders
for unacknowledged feedback and for actions near or past their due date, the weekly digest."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from tests.feedback.factories import setup_round
from tests.notifications.test_outbox import Collector, _config, _free_port
from tilsyn.feedback import actions, notices, release
from tilsyn.feedback.models import FeedbackRelease, PendingNotice
from tilsyn.models_base import utcnow
from tilsyn.notifications import services as outbox
from tilsyn.notifications.models import OutboxMessage


@pytest.fixture
def smtp():
    port = _free_port()
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, _config(port)
    finally:
        controller.stop()


def _deliver(session, config):
    report = outbox.deliver_pending(session, utcnow() + timedelta(minutes=5), config)
    session.commit()
    return report


def _subject(message) -> str:
    raw = str(message["Subject"]).replace("\r\n", "").replace("\n", "")
    return str(make_header(decode_header(raw)))


def _body(message) -> str:
    return message.get_payload(decode=True).decode("utf-8")


def test_release_notice_reaches_the_caseworker_by_smtp_without_case_content(session, org, smtp):
    handler, config = smtp
    s = setup_round(session, org)
    release.release(
        session,
        org.users["leder"],
        s.round.id,
        caseworker_id=org.cw_a1.id,
        config={"PUBLIC_BASE_URL": "https://tilsyn.example"},
    )
    session.commit()
    assert _deliver(session, config).sent == 1
    [mail] = handler.received
    assert mail["To"] == "aaa@test.example"
    assert _subject(mail) == "Du har fået feedback på 2 sager i tilsynsrunde 2026-K3"
    body = _body(mail)
    assert "https://tilsyn.example/min-feedback" in body
    leaks = [t for t in (s.items[0].case_ref, s.items[1].case_ref, "Jobmålet mangler") if t in body]
    assert leaks == []


def test_reminders_for_unacknowledged_feedback_and_actions(session, org, smtp):
    handler, config = smtp
    s = setup_round(session, org)
    leader = org.users["leder"]
    release.release(session, leader, s.round.id, caseworker_id=org.cw_a1.id)
    today = date(2026, 11, 2)
    action = actions.create_action(
        session,
        leader,
        s.reviews[0].id,
        description="Ret jobmålet",
        owner="caseworker",
        due_date=today + timedelta(days=10),
        today=today,
    )
    session.commit()
    _deliver(session, config)
    handler.received.clear()
    # Released 15 days ago, not acknowledged: one reminder to the caseworker, once.
    session.execute(
        update(FeedbackRelease).values(
            released_at=datetime.combine(today, time(9)) - timedelta(days=15)
        )
    )
    report = notices.run_reminders(session, today, {})
    assert report.ack_reminders == 1
    assert notices.run_reminders(session, today, {}).ack_reminders == 0  # same day: nothing
    # Three days before the due date: the owner; after it: owner and leader, then weekly.
    before = notices.run_reminders(session, action.due_date - timedelta(days=3), {})
    assert before.action_reminders == 1
    assert (
        notices.run_reminders(session, action.due_date - timedelta(days=2), {}).action_reminders
        == 0
    )
    overdue = notices.run_reminders(session, action.due_date + timedelta(days=1), {})
    assert overdue.action_reminders == 2
    assert (
        notices.run_reminders(session, action.due_date + timedelta(days=3), {}).action_reminders
        == 0
    )
    weekly = notices.run_reminders(session, action.due_date + timedelta(days=8), {})
    assert weekly.action_reminders == 2
    session.commit()
    _deliver(session, config)
    got = [(m["To"], _subject(m)) for m in handler.received]
    assert ("aaa@test.example", "Påmindelse: du har 2 feedback, som ikke er kvitteret") in got
    assert sum(1 for to, subject in got if "er overskredet" in subject) == 4
    assert {to for to, subject in got if "er overskredet" in subject} == {
        "aaa@test.example",
        "leder@test.example",
    }
    # Acknowledged feedback is not reminded about any more.
    for rel in session.scalars(select(FeedbackRelease)):
        release.acknowledge(session, org.users["sagsbehandler"], rel.id)
    later = notices.run_reminders(session, today + timedelta(days=40), {})
    assert later.ack_reminders == 0


def test_weekly_digest_instead_of_single_notices(session, org, smtp):
    handler, config = smtp
    s = setup_round(session, org)
    notices.set_preference(session, org.users["sagsbehandler"], True)
    release.release(session, org.users["leder"], s.round.id, review_ids=[s.reviews[0].id])
    actions.create_action(
        session,
        org.users["leder"],
        s.reviews[0].id,
        description="Ret",
        owner="caseworker",
        due_date=date(2026, 12, 1),
        today=date(2026, 11, 2),
    )
    session.commit()
    assert session.scalars(select(OutboxMessage)).all() == []
    assert len(session.scalars(select(PendingNotice)).all()) == 2
    report = notices.run_reminders(session, date(2026, 11, 2), {})
    assert report.digests == 1
    assert notices.run_reminders(session, date(2026, 11, 4), {}).digests == 0
    session.commit()
    _deliver(session, config)
    [mail] = handler.received
    assert _subject(mail) == "Ugentlig oversigt fra tilsyn: 2 beskeder"
    assert "Du har fået feedback på 1 sager" in _body(mail)


def test_reminders_once_commits_what_is_due(app, session, org):
    from tilsyn.feedback import jobs

    s = setup_round(session, org)
    action = actions.create_action(
        session,
        org.users["leder"],
        s.reviews[0].id,
        description="Ret",
        owner="caseworker",
        due_date=date(2026, 11, 20),
        today=date(2026, 11, 2),
    )
    session.commit()
    lines = jobs.reminders_once(app, date(2026, 11, 18))
    assert lines == [
        "Feedback: 0 påmindelser om kvittering, 1 om opfølgningspunkter, 0 ugentlige samlinger"
    ]
    session.expire_all()
    assert session.get(type(action), action.id).last_reminder_on == date(2026, 11, 18)
