"""Supervision plans: list, validate and save, and the plan's sampling design."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import Theme
from tilsyn.org.models import Unit
from tilsyn.permissions import (
    Role,
    can_manage_plan,
    can_plan_for_unit,
    role_of,
    visible_plans_filter,
)
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import (
    CADENCES,
    ROTATION_MODES,
    PlanRotatingTheme,
    RotationMode,
    Round,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Cadence, period_containing
from tilsyn.sampling.design import DesignParams
from tilsyn.schemes import SCHEMES


@dataclass
class PlanInput:
    """What a plan editor (or the demo) submits."""

    name: str
    unit_id: int | None = None
    cadence: str = Cadence.QUARTERLY
    per_caseworker: int = 2
    new_caseworker: int = 4
    new_months: int = 6
    lam: float = 1.0
    by_scheme: bool = False
    exclude_recent_rounds: int = 1
    schemes: list[str] = field(default_factory=list)
    core_theme_ids: list[int] = field(default_factory=list)
    rotating_theme_ids: list[int] = field(default_factory=list)
    rotation_mode: str = RotationMode.SEQUENCE
    rotating_per_round: int = 1
    review_weeks: int = 6
    snapshot_max_age_days: int = 45
    starts_on: date | None = None
    active: bool = True


def list_plans(session: Session, actor: User | None) -> list[SupervisionPlan]:
    return list(
        session.scalars(
            select(SupervisionPlan)
            .where(visible_plans_filter(actor, SupervisionPlan.unit_id))
            .options(
                selectinload(SupervisionPlan.core_themes),
                selectinload(SupervisionPlan.rotating).selectinload(PlanRotatingTheme.theme),
            )
            .order_by(SupervisionPlan.name)
        )
    )


def visible_rounds(actor: User | None, *conditions: ColumnElement[bool]) -> Select[tuple[Round]]:
    """The query for the rounds meeting ``conditions`` of the plans ``actor`` may see; the plan
    is joined, so its columns can filter and order the rounds."""
    return (
        select(Round)
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .where(*conditions, visible_plans_filter(actor, SupervisionPlan.unit_id))
    )


def _check_range(value: float, low: float, high: float, label: LazyString) -> None:
    if not low <= value <= high:
        raise RoundError(
            _(
                "%(field)s skal ligge mellem %(low)s og %(high)s.",
                field=label,
                low=f"{low:g}",
                high=f"{high:g}",
            )
        )


def save_plan(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan | None,
    data: PlanInput,
    today: date | None = None,
) -> SupervisionPlan:
    """Create or change a plan after validating every field; nothing is stored on refusal."""
    name = " ".join(data.name.split())
    if not name:
        raise RoundError(_("Planen skal have et navn."))
    clash = session.scalar(select(SupervisionPlan).where(SupervisionPlan.name == name))
    if clash is not None and clash is not plan:
        raise RoundError(_("Der findes allerede en plan ved navn «%(name)s».", name=name))
    if data.cadence not in CADENCES:
        raise RoundError(_("Ukendt kadence."))
    if data.rotation_mode not in ROTATION_MODES:
        raise RoundError(_("Ukendt måde at vælge roterende temaer på."))
    _check_range(data.per_caseworker, 1, 50, _l("Sager pr. sagsbehandler"))
    _check_range(data.new_caseworker, 1, 50, _l("Sager pr. ny sagsbehandler"))
    _check_range(data.new_months, 0, 60, _l("Måneder som ny"))
    _check_range(data.lam, 0, 20, _l("Risikovægtningen (λ)"))
    _check_range(data.exclude_recent_rounds, 0, 12, _l("Antal runder, hvis sager udelukkes"))
    _check_range(data.rotating_per_round, 0, 20, _l("Roterende temaer pr. runde"))
    _check_range(data.review_weeks, 1, 52, _l("Frist for gennemgang (uger)"))
    _check_range(data.snapshot_max_age_days, 1, 400, _l("Sagsudtrækkets maksimale alder (dage)"))
    for scheme in data.schemes:
        if scheme not in SCHEMES:
            raise RoundError(_("Ukendt ordning: «%(scheme)s».", scheme=scheme))
    unit: Unit | None = None
    if data.unit_id is not None:
        unit = session.get(Unit, data.unit_id)
        if unit is None:
            raise RoundError(_("Enheden findes ikke."))
    if not can_plan_for_unit(actor, unit.id if unit is not None else None):
        if role_of(actor) is Role.TEAMLEDER:
            raise RoundError(_("Som teamleder kan du kun lave planer for dine egne enheder."))
        raise RoundError(_("Du kan ikke lave tilsynsplaner for denne enhed."))
    if plan is not None and not can_manage_plan(actor, plan):
        raise RoundError(_("Du kan ikke ændre denne plan."))
    core_ids = list(dict.fromkeys(data.core_theme_ids))
    rotating_ids = list(dict.fromkeys(data.rotating_theme_ids))
    if set(core_ids) & set(rotating_ids):
        raise RoundError(_("Et tema kan ikke både være fast kerne og roterende."))
    themes = {
        t.id: t for t in session.scalars(select(Theme).where(Theme.id.in_(core_ids + rotating_ids)))
    }
    if len(themes) != len(set(core_ids + rotating_ids)):
        raise RoundError(_("Et af de valgte temaer findes ikke."))
    if not core_ids and not rotating_ids:
        raise RoundError(_("Vælg mindst ét tema (fast kerne eller roterende)."))
    if rotating_ids and data.rotating_per_round > len(rotating_ids):
        raise RoundError(_("Der er valgt flere roterende temaer pr. runde, end planen har."))

    created = plan is None
    if plan is None:
        start_day = data.starts_on or today or date.today()
        plan = SupervisionPlan(
            starts_on=period_containing(data.cadence, start_day).start,
            created_by_name=audit.actor_name(actor),
        )
        session.add(plan)
    elif data.starts_on is not None:
        plan.starts_on = period_containing(data.cadence, data.starts_on).start
    plan.name = name
    plan.unit = unit
    plan.cadence = data.cadence
    plan.per_caseworker = int(data.per_caseworker)
    plan.new_caseworker = int(data.new_caseworker)
    plan.new_months = int(data.new_months)
    plan.lam = float(data.lam)
    plan.by_scheme = bool(data.by_scheme)
    plan.exclude_recent_rounds = int(data.exclude_recent_rounds)
    plan.schemes = sorted(set(data.schemes))
    plan.rotation_mode = data.rotation_mode
    plan.rotating_per_round = int(data.rotating_per_round) if rotating_ids else 0
    plan.review_weeks = int(data.review_weeks)
    plan.snapshot_max_age_days = int(data.snapshot_max_age_days)
    plan.active = bool(data.active)
    plan.core_themes = [themes[i] for i in core_ids]
    existing = {r.theme_id: r for r in plan.rotating}
    plan.rotating = [
        existing.get(tid) or PlanRotatingTheme(theme=themes[tid]) for tid in rotating_ids
    ]
    for position, item in enumerate(plan.rotating):
        item.position = position
    session.flush()  # sets plan.unit_id for the record
    details = {
        "cadence": plan.cadence,
        "unit_id": plan.unit_id,
        "core_themes": [themes[i].code for i in core_ids],
        "rotating_themes": [themes[i].code for i in rotating_ids],
        "design": design_params(plan).to_dict(),
    }
    audit.record_save(session, actor, created, "plan", plan, f"Tilsynsplan {plan.name}", details)
    return plan


def design_params(plan: SupervisionPlan) -> DesignParams:
    """The plan's sampling design as :class:`tilsyn.sampling.design.DesignParams`."""
    return DesignParams(
        per_caseworker=plan.per_caseworker,
        new_caseworker=plan.new_caseworker,
        new_months=plan.new_months,
        lam=plan.lam,
        by_scheme=plan.by_scheme,
    )
