"""Telling a plan's leaders about its rounds: who to tell, and queueing the message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.notifications import services as notifications
from tilsyn.permissions import (
    Role,
)
from tilsyn.rounds.models import (
    SupervisionPlan,
)

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    created: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    unnotified: list[str] = field(default_factory=list)
    notified: int = 0

    def lines(self) -> list[str]:
        out = [f"Oprettet: {x}" for x in self.created]
        out += [f"Trukket: {x}" for x in self.drawn]
        out += [f"Venter: {x}" for x in self.waiting]
        out += [f"Temavalg: {x}" for x in self.asked]
        out += [f"Påmindelse: {x}" for x in self.reminders]
        out += [f"Ikke sendt (ingen e-mailadresse): {x}" for x in self.unnotified]
        if not out:
            out.append("Intet at gøre.")
        return out


def _addresses(users: Sequence[User]) -> list[str]:
    """The usable e-mail addresses of the active ``users`` (an address without "@" is skipped
    with a warning rather than stopping the whole run)."""
    found = set()
    for user in users:
        address = (user.email or "").strip()
        if not user.active or not address:
            continue
        if "@" not in address:
            log.warning(
                "Brugeren %s har en ugyldig e-mailadresse; den springes over.", user.username
            )
            continue
        found.add(address)
    return sorted(found)


def leader_addresses(session: Session, plan: SupervisionPlan) -> list[str]:
    """Who is told about a plan's rounds: the e-mail addresses of the unit's leaders.

    Organisation-wide plans, and unit plans whose leaders have no e-mail address, go to the
    active administrators with an address. Empty if nobody has one.
    """
    if plan.unit is not None:
        found = _addresses(plan.unit.leaders)
        if found:
            return found
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
    ).all()
    return _addresses(admins)


def note_nobody_to_tell(plan: SupervisionPlan, subject: str, report: RunReport) -> None:
    log.warning(
        "Ingen teamleder eller administrator med e-mailadresse for planen %s; "
        "beskeden «%s» sendes, når en adresse er registreret.",
        plan.name,
        subject,
    )
    report.unnotified.append(subject)


def notify_leaders(
    session: Session,
    plan: SupervisionPlan,
    subject: str,
    body: str,
    report: RunReport,
) -> int:
    """Queue ``subject``/``body`` for the plan's leaders; the number of messages queued.

    Nobody to send to is logged as a warning and returns 0: the caller then leaves its notice
    undone, so a later run sends it once someone has an e-mail address.
    """
    addresses = leader_addresses(session, plan)
    if not addresses:
        note_nobody_to_tell(plan, subject, report)
        return 0
    for address in addresses:
        notifications.enqueue(session, address, subject, body)
    report.notified += len(addresses)
    return len(addresses)
