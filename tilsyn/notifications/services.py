"""Queueing and delivering e-mail notifications through the outbox.

``enqueue`` only stores a message, inside the caller's transaction, so a notification exists
exactly when the change that caused it is committed. ``deliver_pending`` sends what is due
(SMTP, or the log in development); a failure leaves the message in the outbox with
``attempts`` + 1 and the next attempt pushed back exponentially (1, 2, 4, ... minutes, at most
:data:`MAX_BACKOFF_MINUTES`). Nothing is lost while the mail server is down.

Two delivery runs at the same time do not send a message twice: each message is claimed with a
conditional UPDATE, which the database serialises (the second run's UPDATE matches no row).
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tilsyn.errors import ServiceError
from tilsyn.notifications.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_BACKOFF_MINUTES = 60
#: How long a claimed message is held back from other delivery runs.
CLAIM_MINUTES = 5
MAX_BATCH = 200


class NotificationError(ServiceError):
    """A message that cannot be queued (e.g. no recipient)."""


def valid_address(address: str) -> str | None:
    """``address`` normalised if it is one syntactically valid e-mail address (no display
    name, no line breaks, no second recipient), else ``None``. No DNS look-up."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def header_text(text: str, limit: int = 300) -> str:
    """Text safe for a mail header: every run of whitespace and control characters (CR, LF,
    NUL, ...) becomes one space, so user text can never start a header of its own."""
    cleaned = "".join(" " if not ch.isprintable() else ch for ch in text)
    return " ".join(cleaned.split())[:limit]


def enqueue(session: Session, to: str, subject: str, body: str) -> OutboxMessage:
    """Store one message for delivery. The caller commits.

    The recipient must be one valid address; the subject (which may quote user text such as a
    plan name) is flattened to one line by :func:`header_text`.
    """
    address = valid_address(to)
    if address is None:
        raise NotificationError(f"Ugyldig modtageradresse: «{header_text(to, 254)}».")
    message = OutboxMessage(to=address, subject=header_text(subject), body=body)
    session.add(message)
    session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failures: 1, 2, 4, ... minutes, capped."""
    minutes = min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES)
    return timedelta(minutes=minutes)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        or 0
    )


def _claim(session: Session, message: OutboxMessage, now: datetime) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at == message.next_attempt_at,
        )
        .values(next_attempt_at=now + timedelta(minutes=CLAIM_MINUTES))
        .execution_options(synchronize_session=False)
    )
    claimed = getattr(result, "rowcount", 0) == 1
    session.refresh(message)
    return claimed


def _build(message: OutboxMessage, sender: str) -> EmailMessage:
    """The e-mail; headers only ever hold validated addresses and flattened text."""
    to = valid_address(message.to)
    if to is None:
        raise ValueError(f"ugyldig modtageradresse {header_text(message.to, 254)!r}")
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = header_text(message.subject)
    email.set_content(message.body)
    return email


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    smtp = smtplib.SMTP(
        str(config.get("SMTP_HOST", "127.0.0.1")),
        int(config.get("SMTP_PORT", 25)),
        timeout=float(config.get("SMTP_TIMEOUT", 10)),
    )
    try:
        if config.get("SMTP_USE_TLS"):
            smtp.starttls()
        username = str(config.get("SMTP_USERNAME") or "")
        if username:
            password = os.environ.get("TILSYN_SMTP_PASSWORD") or str(
                config.get("SMTP_PASSWORD") or ""
            )
            smtp.login(username, password)
    except (smtplib.SMTPException, OSError):
        smtp.close()
        raise
    return smtp


def _fail(message: OutboxMessage, now: datetime, error: str, report: DeliveryReport) -> None:
    message.attempts += 1
    message.last_error = error[:2000]
    message.next_attempt_at = now + backoff(message.attempts)
    report.failed += 1
    report.errors.append(f"#{message.id} til {message.to}: {error}")


def deliver_pending(
    session: Session, now: datetime, config: Mapping[str, Any], *, limit: int = MAX_BATCH
) -> DeliveryReport:
    """Send the messages whose next attempt is due. Flushes; the caller commits.

    ``config`` holds MAIL_BACKEND ("smtp" or "log"), MAIL_FROM and the SMTP_* keys; the SMTP
    password comes from the TILSYN_SMTP_PASSWORD environment variable.
    """
    report = DeliveryReport()
    due = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    claimed = [m for m in due if _claim(session, m, now)]
    if not claimed:
        return report
    backend = str(config.get("MAIL_BACKEND", "log"))
    sender = str(config.get("MAIL_FROM", "tilsyn@localhost"))
    if backend == "log":
        for message in claimed:
            log.info("Mail til %s: %s\n%s", message.to, message.subject, message.body)
            message.attempts += 1
            message.sent_at = now
            message.last_error = None
            report.sent += 1
        session.flush()
        return report
    if backend != "smtp":
        for message in claimed:
            _fail(message, now, f"ukendt MAIL_BACKEND {backend!r}", report)
        session.flush()
        return report
    try:
        smtp = _connect(config)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"kan ikke forbinde til mailserveren: {exc}"
        log.warning("Mail ikke sendt (%s); %d beskeder venter i udbakken", error, len(claimed))
        for message in claimed:
            _fail(message, now, error, report)
        session.flush()
        return report
    try:
        for message in claimed:
            try:
                smtp.send_message(_build(message, sender))
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                _fail(message, now, str(exc), report)
            else:
                message.attempts += 1
                message.sent_at = now
                message.last_error = None
                report.sent += 1
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    session.flush()
    return report
