"""Outbox delivery against a real local SMTP server (aiosmtpd), with retries and back-off."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select

from tilsyn.models_base import utcnow
from tilsyn.notifications import services
from tilsyn.notifications.models import OutboxMessage

#: "Now" for delivery: a little after the messages of a test are queued (at the real time).
NOW = utcnow() + timedelta(minutes=10)


class Collector(Message):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[object] = []

    def handle_message(self, message: object) -> None:
        self.received.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(port: int) -> dict[str, object]:
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_FROM": "tilsyn@test.example",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_USE_TLS": False,
        "SMTP_USERNAME": "",
        "SMTP_TIMEOUT": 5,
    }


def test_backoff_doubles_and_is_capped():
    assert [services.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 7, 20)] == [
        1,
        2,
        4,
        8,
        60,
        60,
    ]


def test_enqueue_refuses_bad_address(session):
    with pytest.raises(services.NotificationError):
        services.enqueue(session, "ikke-en-adresse", "Emne", "Tekst")
    assert session.scalars(select(OutboxMessage)).all() == []


def test_messages_wait_while_smtp_is_down_and_go_out_when_it_is_back(session):
    port = _free_port()
    config = _config(port)
    services.enqueue(session, "leder@example.org", "Tilsynsrunde venter", "Første besked")
    services.enqueue(session, "chef@example.org", "Påmindelse", "Anden besked")
    session.commit()

    down = services.deliver_pending(session, NOW, config)
    session.commit()
    assert (down.sent, down.failed) == (0, 2)
    messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert messages
    assert all(m.sent_at is None and m.attempts == 1 and m.last_error for m in messages)
    assert all(m.next_attempt_at == NOW + timedelta(minutes=1) for m in messages)
    # Not due yet: nothing is tried.
    assert services.deliver_pending(session, NOW + timedelta(seconds=30), config).failed == 0
    second = services.deliver_pending(session, NOW + timedelta(minutes=1), config)
    session.commit()
    assert second.failed == 2
    assert all(m.attempts == 2 for m in messages)
    assert all(m.next_attempt_at == NOW + timedelta(minutes=3) for m in messages)
    assert services.pending_count(session) == 2

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        up = services.deliver_pending(session, NOW + timedelta(minutes=3), config)
        session.commit()
    finally:
        controller.stop()
    assert (up.sent, up.failed) == (2, 0)
    assert sorted(m["To"] for m in handler.received) == ["chef@example.org", "leder@example.org"]
    first = next(m for m in handler.received if m["To"] == "leder@example.org")
    assert first["Subject"] == "Tilsynsrunde venter" and first["From"] == "tilsyn@test.example"
    assert "Første besked" in first.get_payload(decode=True).decode("utf-8")
    assert all(m.sent_at is not None and m.attempts == 3 for m in messages)
    assert services.pending_count(session) == 0
    # Sent messages are never sent again.
    assert services.deliver_pending(session, NOW + timedelta(hours=1), config).sent == 0


def test_log_backend_marks_messages_sent(session, caplog):
    services.enqueue(session, "leder@example.org", "Hej", "Tekst")
    with caplog.at_level("INFO", logger="tilsyn.notifications.services"):
        report = services.deliver_pending(session, NOW, {"MAIL_BACKEND": "log"})
    assert report.sent == 1 and "leder@example.org" in caplog.text
    assert services.pending_count(session) == 0


def test_scheduler_once_delivers_the_outbox(app, session):
    from tilsyn import scheduler

    port = _free_port()
    services.enqueue(session, "leder@example.org", "Emne", "Tekst")
    session.commit()
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in _config(port)}
    app.config.update(_config(port))
    try:
        lines = scheduler.deliver_once(app, datetime(2100, 1, 1))
    finally:
        app.config.update(saved)
        controller.stop()
    assert lines[0].startswith("Mail sendt: 1")
    assert [m["To"] for m in handler.received] == ["leder@example.org"]
