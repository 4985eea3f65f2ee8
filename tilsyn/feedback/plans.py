"""A plan's feedback settings: the caseworker's involvement and the follow-up allowance f."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.errors import get_or_raise
from tilsyn.feedback.common import FeedbackAccessError, FeedbackError, plan_setting
from tilsyn.feedback.models import Involvement, PlanFeedbackSetting
from tilsyn.permissions import can_manage_plan
from tilsyn.rounds.models import SupervisionPlan

#: The largest follow-up allowance f (extra cases per caseworker with an open action).
MAX_ALLOWANCE = 20


def save_settings(
    session: Session, actor: User | None, plan_id: int, involvement: str, allowance: int | None
) -> PlanFeedbackSetting:
    """Set the plan's involvement and follow-up allowance; audited. Flushes."""
    plan = get_or_raise(
        session, SupervisionPlan, plan_id, FeedbackError(_("Tilsynsplanen findes ikke."))
    )
    if not can_manage_plan(actor, plan):
        raise FeedbackAccessError(_("Du kan kun ændre planer for dine egne enheder."))
    try:
        inv = Involvement(involvement)
    except ValueError:
        raise FeedbackError(_("Vælg sagsbehandlerens inddragelse.")) from None
    if allowance is None or not 0 <= allowance <= MAX_ALLOWANCE:
        raise FeedbackError(
            _("Tillægget f skal være et helt tal fra 0 til %(max)d.", max=MAX_ALLOWANCE)
        )
    setting = plan_setting(session, plan)
    before = (setting.involvement, setting.followup_allowance)
    setting.involvement = inv.value
    setting.followup_allowance = allowance
    if session.get(PlanFeedbackSetting, plan.id) is None:
        session.add(setting)
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "plan_feedback",
        plan.id,
        f"{plan.name}: inddragelse {inv.value}, opfølgningstillæg f = {allowance}",
        {"from": list(before), "to": [inv.value, allowance]},
    )
    return setting
