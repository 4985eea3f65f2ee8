"""Shared pieces of the feedback services: errors, access checks, plan settings, labels."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.feedback.models import (
    DEFAULT_INVOLVEMENT,
    Involvement,
    PlanFeedbackSetting,
)
from tilsyn.org.models import Caseworker
from tilsyn.permissions import Role, can_see_caseworker, has_permission, role_of
from tilsyn.rounds.models import Round, SupervisionPlan

COMMENT_MAX = 2000
DESCRIPTION_MAX = 2000
#: An action's due date may lie at most this many days after its creation.
MAX_DUE_DAYS = 366


class FeedbackError(ServiceError):
    """A refused feedback or follow-up operation (message in the reader's language)."""


class FeedbackAccessError(FeedbackError, ServiceAccessError):
    """The actor may not see or do this."""


def round_label(rnd: Round) -> str:
    return f"{rnd.plan.name} {rnd.period_label}"


def plan_setting(session: Session, plan: SupervisionPlan | int) -> PlanFeedbackSetting:
    """The plan's feedback settings (an unsaved default row if the plan has none)."""
    plan_id = plan if isinstance(plan, int) else plan.id
    setting = session.get(PlanFeedbackSetting, plan_id)
    if setting is None:
        return PlanFeedbackSetting(
            plan_id=plan_id, involvement=DEFAULT_INVOLVEMENT.value, followup_allowance=0
        )
    return setting


def involvement(session: Session, rnd: Round) -> Involvement:
    return Involvement(plan_setting(session, rnd.plan_id).involvement)


def is_own(actor: User | None, caseworker_id: int) -> bool:
    """Whether ``actor`` is the caseworker-user linked to ``caseworker_id``."""
    return (
        actor is not None
        and role_of(actor) is Role.SAGSBEHANDLER
        and actor.caseworker_id is not None
        and actor.caseworker_id == caseworker_id
    )


def can_manage(actor: User | None, caseworker: Caseworker) -> bool:
    """Leaders of the caseworker's (current) unit and administrators; None is the system."""
    if actor is None:
        return True
    return has_permission(actor, "feedback.manage") and can_see_caseworker(actor, caseworker)


def require_manage(actor: User | None, caseworker: Caseworker) -> None:
    if not can_manage(actor, caseworker):
        raise FeedbackAccessError(_("Du kan kun give feedback i dine egne enheder."))


def require_text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise FeedbackError(_("%(field)s skal udfyldes.", field=field))
    if len(text) > limit:
        raise FeedbackError(_("%(field)s må højst være %(limit)d tegn.", field=field, limit=limit))
    return text


def check_due_date(due: date | None, created_on: date) -> date:
    """A due date after the creation day and within :data:`MAX_DUE_DAYS`."""
    if due is None:
        raise FeedbackError(_("Fristen skal udfyldes (dd-mm-åååå)."))
    if due <= created_on:
        raise FeedbackError(_("Fristen skal ligge efter i dag."))
    if (due - created_on).days > MAX_DUE_DAYS:
        raise FeedbackError(_("Fristen må højst ligge et år frem."))
    return due


def display_name(actor: User | None) -> str:
    return actor.display_name if actor is not None else "system"


def details(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
