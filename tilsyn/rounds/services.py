"""Supervision plans, rounds, theme rotation and the scheduled run (``run_due``).

Rounds are created by a leader by hand or by :func:`run_due` (the scheduler and
``tilsyn scheduler --once``). Creating a round is idempotent: the database refuses a second
round for the same plan and period (UniqueConstraint), and :func:`run_due` first takes a run
lock (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so that two
schedulers running at once are serialised and the second one finds the rounds already there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import LazyString, force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Snapshot
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.catalogue import services as catalogue
from tilsyn.catalogue.models import Theme
from tilsyn.errors import ServiceError
from tilsyn.models_base import utcnow
from tilsyn.notifications import services as notifications
from tilsyn.org.models import Unit
from tilsyn.permissions import (
    Role,
    can_plan_for_unit,
    role_of,
)

# Row scoping lives in tilsyn.permissions; these names stay importable from here.
from tilsyn.permissions import can_manage_plan as can_manage_plan
from tilsyn.permissions import can_see_plan as can_see_plan
from tilsyn.permissions import visible_plans_filter as visible_plans_filter
from tilsyn.rounds.models import (
    CADENCES,
    CLOSED,
    DRAWN,
    IN_REVIEW,
    OPEN_STATUSES,
    PLANNED,
    ROTATION_MODES,
    STATUSES,
    TRANSITIONS,
    PlanRotatingTheme,
    Round,
    RoundControlPoint,
    RoundDraw,
    RoundTheme,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Period, next_period, period_containing, previous_period
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.schemes import SCHEMES

log = logging.getLogger(__name__)

#: Advisory lock key for the scheduled run on PostgreSQL ("tilsyn" in hex-ish digits).
RUN_LOCK_KEY = 0x7115_0005
#: Deadline reminders go out this many days before a round's review deadline (config key
#: ``ROUND_REMINDER_DAYS_BEFORE``) ...
REMINDER_DAYS_BEFORE: tuple[int, ...] = (14, 3)
#: ... and, once the deadline has passed, the day after it and then every this many days
#: (``ROUND_OVERDUE_REMINDER_DAYS``; 0 = no reminders after the deadline).
OVERDUE_REMINDER_DAYS = 7


class RoundError(ServiceError):
    """A user-facing refusal (in the UI language; Danish outside a request)."""


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


@dataclass
class PlanInput:
    """What a plan editor (or the demo) submits."""

    name: str
    unit_id: int | None = None
    cadence: str = "quarterly"
    per_caseworker: int = 2
    new_caseworker: int = 4
    new_months: int = 6
    lam: float = 1.0
    by_scheme: bool = False
    exclude_recent_rounds: int = 1
    schemes: list[str] = field(default_factory=list)
    core_theme_ids: list[int] = field(default_factory=list)
    rotating_theme_ids: list[int] = field(default_factory=list)
    rotation_mode: str = "sequence"
    rotating_per_round: int = 1
    review_weeks: int = 6
    snapshot_max_age_days: int = 45
    starts_on: date | None = None
    active: bool = True


def list_plans(session: Session, actor: User | None) -> list[SupervisionPlan]:
    return list(
        session.scalars(
            select(SupervisionPlan)
            .where(visible_plans_filter(actor))
            .options(
                selectinload(SupervisionPlan.core_themes),
                selectinload(SupervisionPlan.rotating).selectinload(PlanRotatingTheme.theme),
            )
            .order_by(SupervisionPlan.name)
        )
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
    session.flush()
    audit.record(
        session,
        actor,
        "create" if created else "update",
        "plan",
        plan.id,
        f"Tilsynsplan {plan.name}",
        {
            "cadence": plan.cadence,
            "unit_id": plan.unit_id,
            "core_themes": [themes[i].code for i in core_ids],
            "rotating_themes": [themes[i].code for i in rotating_ids],
            "design": design_params(plan).to_dict(),
        },
    )
    return plan


def design_params(plan: SupervisionPlan) -> Any:
    """The plan's sampling design as :class:`tilsyn.sampling.services.DesignParams`."""
    from tilsyn.sampling.services import DesignParams

    return DesignParams(
        per_caseworker=plan.per_caseworker,
        new_caseworker=plan.new_caseworker,
        new_months=plan.new_months,
        lam=plan.lam,
        by_scheme=plan.by_scheme,
    )


# --------------------------------------------------------------------------------------------
# Themes of a round
# --------------------------------------------------------------------------------------------


def _plan_rounds(
    session: Session, plan: SupervisionPlan, before: date | None = None
) -> list[Round]:
    stmt = select(Round).where(Round.plan_id == plan.id)
    if before is not None:
        stmt = stmt.where(Round.period_start < before)
    return list(
        session.scalars(
            stmt.options(selectinload(Round.themes)).order_by(Round.period_start.desc())
        )
    )


@dataclass(frozen=True)
class ThemeSuggestion:
    """A rotating theme proposed for a round, with the evidence behind the proposal."""

    theme: Theme
    last_period: str | None  # label of the last round of the plan that asked the theme
    reason: str  # shown to the leader (a lazy, translatable string)
    estimate: float | None = None  # the theme's recent estimate, when a ranking used one


@dataclass(frozen=True)
class SuggestionRanking:
    """One way of ordering a plan's rotating themes for the next round, best candidate first."""

    key: str  # "recency" | "estimates"
    title: str
    explanation: str
    items: list[ThemeSuggestion]


@dataclass(frozen=True)
class ThemeSuggestions:
    """The rankings offered to a leader choosing rotating themes.

    ``rankings[0]`` ("not asked for the longest time") is always there and is what the
    scheduler picks from; a second ranking by the weakest recent estimates is added when
    estimates are supplied.
    """

    rankings: list[SuggestionRanking]

    @property
    def primary(self) -> list[ThemeSuggestion]:
        return self.rankings[0].items if self.rankings else []

    def __bool__(self) -> bool:
        return any(r.items for r in self.rankings)


def rank_by_recency(session: Session, plan: SupervisionPlan, before: date) -> list[ThemeSuggestion]:
    """The plan's rotating themes, the one not asked for the longest time first.

    Themes never asked in a round of this plan (before ``before``) come first, in the plan's
    order, then the others by the start of the last round that asked them, oldest first.
    """
    last_asked: dict[int, Round] = {}
    for rnd in _plan_rounds(session, plan, before):
        for rt in rnd.themes:
            last_asked.setdefault(rt.theme_id, rnd)
    ranked: list[tuple[tuple[int, date, int], ThemeSuggestion]] = []
    for position, item in enumerate(plan.rotating):
        last = last_asked.get(item.theme_id)
        if last is None:
            key = (0, date.min, position)
            suggestion = ThemeSuggestion(item.theme, None, _l("Ikke stillet i en runde endnu"))
        else:
            key = (1, last.period_start, position)
            suggestion = ThemeSuggestion(
                item.theme,
                last.period_label,
                _l("Sidst stillet i %(period)s", period=last.period_label),
            )
        ranked.append((key, suggestion))
    return [s for _, s in sorted(ranked, key=lambda pair: pair[0])]


def rank_by_estimates(
    recency: Sequence[ThemeSuggestion], estimates: Mapping[int, float]
) -> list[ThemeSuggestion]:
    """``recency`` re-ordered by the weakest recent estimate first.

    ``estimates`` maps a theme id to the estimated share of cases in order (0–1) for the theme
    in recent rounds; lower is weaker. Themes without a (finite) estimate follow, in
    ``recency`` order; ties keep the ``recency`` order too.
    """
    with_estimate: list[tuple[float, int, ThemeSuggestion]] = []
    without: list[ThemeSuggestion] = []
    for position, s in enumerate(recency):
        value = estimates.get(s.theme.id)
        if value is None or not math.isfinite(value):
            without.append(ThemeSuggestion(s.theme, s.last_period, _l("Intet skøn endnu"), None))
            continue
        reason = _l("Anslået andel i orden: %(share)d %%", share=round(100 * value))
        with_estimate.append(
            (float(value), position, ThemeSuggestion(s.theme, s.last_period, reason, value))
        )
    return [s for _, _, s in sorted(with_estimate, key=lambda t: t[:2])] + without


def suggest_rotating_themes(
    session: Session,
    plan: SupervisionPlan,
    before: date,
    estimates: Mapping[int, float] | None = None,
) -> ThemeSuggestions:
    """Rankings of the plan's rotating themes for a round starting on or after ``before``.

    Always the ranking by "not asked for the longest time" (:func:`rank_by_recency`); with
    ``estimates`` (theme id -> estimated share in order, 0–1) also the ranking by the weakest
    recent estimates (:func:`rank_by_estimates`).
    """
    recency = rank_by_recency(session, plan, before)
    rankings = [
        SuggestionRanking(
            "recency",
            _l("Længst siden stillet"),
            _l("Temaer, der ikke har været stillet i planens runder i længst tid, står først."),
            recency,
        )
    ]
    if estimates is not None:
        rankings.append(
            SuggestionRanking(
                "estimates",
                _l("Svageste seneste resultater"),
                _l("Temaer med den laveste anslåede andel sager i orden står først."),
                rank_by_estimates(recency, estimates),
            )
        )
    return ThemeSuggestions(rankings)


def sequence_themes(session: Session, plan: SupervisionPlan, before: date) -> list[Theme]:
    """The next rotating themes in the plan's fixed order, continuing after the last round.

    The rotation is a circle: the next round starts right after the rotating theme the latest
    earlier round asked last (in that round's order), wrapping round the end of the list. So
    with 9 themes and 2 per round, a round that asked nos. 9 and 1 is followed by nos. 2 and 3.
    """
    rotation = plan.rotating_themes
    count = min(plan.rotating_per_round, len(rotation))
    if not rotation or count <= 0:
        return []
    positions = {t.id: i for i, t in enumerate(rotation)}
    start = 0
    for rnd in _plan_rounds(session, plan, before):
        asked = sorted(
            (rt for rt in rnd.themes if not rt.is_core and rt.theme_id in positions),
            key=lambda rt: rt.position,
        )
        if asked:
            start = positions[asked[-1].theme_id] + 1
            break
    return [rotation[(start + k) % len(rotation)] for k in range(count)]


def choose_rotating(session: Session, plan: SupervisionPlan, period: Period) -> list[Theme]:
    """Rotating themes for a new round of ``period`` by the plan's rotation policy.

    Leader's choice: the top of the "not asked for the longest time" ranking (a provisional
    pick the leader confirms or changes); fixed order: :func:`sequence_themes`.
    """
    if plan.rotation_mode == "leader_choice":
        count = min(plan.rotating_per_round, len(plan.rotating))
        if count <= 0:
            return []
        return [s.theme for s in rank_by_recency(session, plan, period.start)[:count]]
    return sequence_themes(session, plan, period.start)


def _set_themes(
    session: Session, rnd: Round, plan: SupervisionPlan, rotating: Sequence[Theme]
) -> None:
    core_ids = {t.id for t in plan.core_themes}
    rnd.themes = [
        RoundTheme(theme=t, is_core=True, position=i) for i, t in enumerate(plan.core_themes)
    ] + [
        RoundTheme(theme=t, is_core=False, position=i)
        for i, t in enumerate(rotating)
        if t.id not in core_ids
    ]
    theme_ids = [rt.theme.id for rt in rnd.themes]
    points = catalogue.current_points(session, theme_ids, plan.schemes or ())
    rnd.control_points = [
        RoundControlPoint(control_point=p, is_core=p.theme_id in core_ids) for p in points
    ]


def _too_many_rotating(plan: SupervisionPlan) -> str:
    return ngettext(
        "Planen har højst %(num)d roterende tema pr. runde.",
        "Planen har højst %(num)d roterende temaer pr. runde.",
        plan.rotating_per_round,
    )


def set_round_themes(
    session: Session, actor: User | None, rnd: Round, rotating_theme_ids: Sequence[int]
) -> Round:
    """Change the rotating themes of a round that is not yet under review."""
    if rnd.status not in (PLANNED, DRAWN):
        raise RoundError(_("Temaerne kan kun ændres, før gennemgangen er startet."))
    plan = rnd.plan
    allowed = {t.id: t for t in plan.rotating_themes}
    chosen = list(dict.fromkeys(rotating_theme_ids))
    if any(tid not in allowed for tid in chosen):
        raise RoundError(_("Vælg blandt planens roterende temaer."))
    if len(chosen) > max(plan.rotating_per_round, 0):
        raise RoundError(_too_many_rotating(plan))
    was_provisional = rnd.themes_provisional
    _set_themes(session, rnd, plan, [allowed[tid] for tid in chosen])
    rnd.themes_provisional = False
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "round",
        rnd.id,
        f"Temaer for {plan.name} {rnd.period_label} " + ("valgt" if was_provisional else "ændret"),
        {
            "rotating_themes": [allowed[tid].code for tid in chosen],
            "confirmed_provisional": was_provisional,
        },
    )
    return rnd


# --------------------------------------------------------------------------------------------
# Rounds
# --------------------------------------------------------------------------------------------


def round_for(session: Session, plan: SupervisionPlan, label: str) -> Round | None:
    return session.scalar(
        select(Round).where(Round.plan_id == plan.id, Round.period_label == label)
    )


def review_deadline(plan: SupervisionPlan, period: Period, today: date | None = None) -> date:
    """The review deadline of a round of ``period``: ``review_weeks`` after the period starts.

    A round created (on ``today``) after that date, e.g. catching up a period that is already
    over, gets ``review_weeks`` from its creation instead of a deadline in the past.
    """
    deadline = period.start + timedelta(weeks=plan.review_weeks)
    if today is not None and deadline < today:
        deadline = today + timedelta(weeks=plan.review_weeks)
    return deadline


def creatable_periods(session: Session, plan: SupervisionPlan, today: date) -> list[Period]:
    """Periods a leader may create a round for by hand, newest first: from the plan's first
    period up to and including the next period, leaving out periods that have a round."""
    first = period_containing(plan.cadence, plan.starts_on)
    last = next_period(plan.cadence, period_containing(plan.cadence, today))
    taken = set(session.scalars(select(Round.period_label).where(Round.plan_id == plan.id)))
    out: list[Period] = []
    period = last
    while period.start >= first.start:
        if period.label not in taken:
            out.append(period)
        period = previous_period(plan.cadence, period)
    return out


def create_round_by_hand(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan,
    period: Period,
    rotating_theme_ids: Sequence[int] | None,
    today: date,
) -> Round:
    """A leader creates a round: any period from the plan's first up to the next one.

    Refused (RoundError, Danish) for other periods and for plans the actor may not manage. A
    period that is already over is a catch-up: its review deadline counts from ``today``.
    """
    if not can_manage_plan(actor, plan):
        raise RoundError(_("Du kan ikke oprette runder for denne plan."))
    first = period_containing(plan.cadence, plan.starts_on)
    last = next_period(plan.cadence, period_containing(plan.cadence, today))
    if not first.start <= period.start <= last.start:
        raise RoundError(
            _(
                "Der kan kun oprettes runder for perioderne fra planens første periode "
                "(%(first)s) til og med næste periode (%(last)s); %(period)s ligger uden for.",
                first=first.label,
                last=last.label,
                period=period.label,
            )
        )
    return create_round(session, actor, plan, period, rotating_theme_ids, today=today)


def create_round(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan,
    period: Period,
    rotating_theme_ids: Sequence[int] | None = None,
    *,
    today: date | None = None,
    provisional: bool = False,
) -> Round:
    """Create the round of ``plan`` for ``period`` (status planned) with its themes.

    ``rotating_theme_ids`` None picks the rotating themes by the plan's policy; ``provisional``
    marks them as the scheduler's pick for the leader to confirm. ``today`` (the creation day)
    moves a deadline that would already have passed (see :func:`review_deadline`). Raises
    RoundError if the round exists; the database's unique constraint backs this up when two
    processes race (IntegrityError on flush).
    """
    if round_for(session, plan, period.label) is not None:
        raise RoundError(
            _(
                "Planen «%(plan)s» har allerede en runde for %(period)s.",
                plan=plan.name,
                period=period.label,
            )
        )
    if rotating_theme_ids is None:
        rotating = choose_rotating(session, plan, period)
    else:
        allowed = {t.id: t for t in plan.rotating_themes}
        if any(tid not in allowed for tid in rotating_theme_ids):
            raise RoundError(_("Vælg blandt planens roterende temaer."))
        if len(set(rotating_theme_ids)) > plan.rotating_per_round:
            raise RoundError(_too_many_rotating(plan))
        rotating = [allowed[tid] for tid in dict.fromkeys(rotating_theme_ids)]
    rnd = Round(
        plan=plan,
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        status=PLANNED,
        review_deadline=review_deadline(plan, period, today),
        themes_provisional=provisional and rotating_theme_ids is None and bool(plan.rotating),
        created_by_id=actor.id if actor is not None else None,
        created_by_name=audit.actor_name(actor),
    )
    session.add(rnd)
    _set_themes(session, rnd, plan, rotating)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "round",
        rnd.id,
        f"Tilsynsrunde {plan.name} {period.label} oprettet",
        {
            "themes": [{"code": rt.theme.code, "core": rt.is_core} for rt in rnd.themes],
            "control_points": len(rnd.control_points),
            "themes_provisional": rnd.themes_provisional,
            "review_deadline": rnd.review_deadline.isoformat() if rnd.review_deadline else None,
        },
    )
    return rnd


def snapshot_is_recent(plan: SupervisionPlan, period_start: date, snapshot: Snapshot) -> bool:
    """A snapshot may be used for a round if it is at most ``snapshot_max_age_days`` older
    than the period start."""
    return snapshot.as_of >= period_start - timedelta(days=plan.snapshot_max_age_days)


def excluded_case_refs(session: Session, rnd: Round) -> set[str]:
    """Case references sampled in the plan's last ``r`` rounds before this one."""
    r = rnd.plan.exclude_recent_rounds
    if r <= 0:
        return set()
    earlier = session.scalars(
        select(Round.draw_id)
        .where(
            Round.plan_id == rnd.plan_id,
            Round.period_start < rnd.period_start,
            Round.draw_id.is_not(None),
        )
        .order_by(Round.period_start.desc())
        .limit(r)
    ).all()
    if not earlier:
        return set()
    return set(session.scalars(select(DrawItem.case_ref).where(DrawItem.draw_id.in_(earlier))))


def draw_round(
    session: Session,
    actor: User | None,
    rnd: Round,
    *,
    reason: str = "",
    snapshot: Snapshot | None = None,
    seed: int | None = None,
) -> Draw:
    """Draw the round's sample from ``snapshot`` (default: the latest) and attach it.

    A round that already has a draw gets a new one only with a written ``reason``; the earlier
    draw stays recorded in the round's draw history. Raises RoundError (or the sampling
    service's ValueError) with a Danish message; nothing is stored then.
    """
    from tilsyn.sampling import services as sampling

    if rnd.status == CLOSED:
        raise RoundError(_("Runden er afsluttet; dens stikprøve kan ikke udskiftes."))
    reason = reason.strip()
    if rnd.draw_id is not None and not reason:
        raise RoundError(
            _("Runden har allerede en stikprøve. Skriv en begrundelse for at udskifte den.")
        )
    plan = rnd.plan
    snapshot = snapshot if snapshot is not None else latest_snapshot(session)
    if snapshot is None:
        raise RoundError(_("Der er intet sagsudtræk at trække stikprøven fra. Indlæs et udtræk."))
    if not snapshot_is_recent(plan, rnd.period_start, snapshot):
        raise RoundError(
            _(
                "Det nyeste sagsudtræk er fra %(as_of)s og dermed mere end %(days)s dage ældre "
                "end rundens start (%(start)s). Indlæs et nyere udtræk.",
                as_of=f"{snapshot.as_of:%d-%m-%Y}",
                days=plan.snapshot_max_age_days,
                start=f"{rnd.period_start:%d-%m-%Y}",
            )
        )
    draw = sampling.draw_sample(
        session,
        actor,
        snapshot,
        design_params(plan),
        seed=seed,
        unit_ids=[plan.unit_id] if plan.unit_id is not None else None,
        exclude_case_refs=sorted(excluded_case_refs(session, rnd)),
        purpose="round",
        note=f"{plan.name} {rnd.period_label}",
    )
    now = utcnow()
    previous_id = rnd.draw_id
    for entry in rnd.draw_history:
        if entry.replaced_at is None:
            entry.replaced_at = now
            entry.replaced_by_name = audit.actor_name(actor)
            entry.reason = reason
    rnd.draw_history.append(
        RoundDraw(draw=draw, attached_by_name=audit.actor_name(actor), attached_at=now)
    )
    rnd.draw_id = draw.id
    rnd.snapshot_id = snapshot.id
    rnd.waiting_reason = None
    rnd.waiting_notified = False
    if rnd.status == PLANNED:
        rnd.status = DRAWN
    session.flush()
    audit.record(
        session,
        actor,
        "replace_draw" if previous_id else "draw",
        "round",
        rnd.id,
        f"Stikprøve {draw.id} ({draw.sample_size} sager) til {plan.name} {rnd.period_label}",
        {"draw_id": draw.id, "previous_draw_id": previous_id, "reason": reason or None},
    )
    return draw


def transition(session: Session, actor: User | None, rnd: Round, target: str) -> Round:
    """Move a round to ``target`` if allowed (drawn -> in review -> closed; reopen)."""
    if target not in TRANSITIONS.get(rnd.status, ()):
        raise RoundError(
            _(
                "En runde med status «%(status)s» kan ikke sættes til «%(target)s».",
                status=rnd.status_label,
                target=STATUSES.get(target, target),
            )
        )
    old = rnd.status
    rnd.status = target
    rnd.closed_at = utcnow() if target == CLOSED else None
    if target == IN_REVIEW:
        rnd.themes_provisional = False  # the review has started with the themes it has
    session.flush()
    with force_locale("da"):  # the audit log is Danish whatever the UI language
        summary = f"{rnd.plan.name} {rnd.period_label}: {STATUSES[old]} → {STATUSES[target]}"
    audit.record(session, actor, "status", "round", rnd.id, summary, {"from": old, "to": target})
    return rnd


def visible_rounds(session: Session, actor: User | None) -> list[Round]:
    return list(
        session.scalars(
            select(Round)
            .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
            .where(visible_plans_filter(actor))
            .options(selectinload(Round.themes).selectinload(RoundTheme.theme))
            .order_by(SupervisionPlan.name, Round.period_start)
        )
    )


@dataclass(frozen=True)
class RoundRow:
    """One line of ``tilsyn rounds list``."""

    plan: str
    period: str
    status: str
    draw_id: int | None
    sample_size: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "period": self.period,
            "status": self.status,
            "draw_id": self.draw_id,
            "sample_size": self.sample_size,
        }


def round_rows(session: Session) -> list[RoundRow]:
    rows = session.execute(
        select(
            SupervisionPlan.name,
            Round.period_label,
            Round.status,
            Round.draw_id,
            Draw.sample_size,
        )
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .outerjoin(Draw, Round.draw_id == Draw.id)
        .order_by(SupervisionPlan.name, Round.period_start)
    ).all()
    return [RoundRow(p, label, st, d, n) for p, label, st, d, n in rows]


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeLine:
    theme: Theme
    is_core: bool


@dataclass(frozen=True)
class CalendarEntry:
    period: Period
    round: Round | None
    themes: list[ThemeLine]
    when: str  # "past" | "current" | "next"


@dataclass(frozen=True)
class PlanCalendar:
    plan: SupervisionPlan
    entries: list[CalendarEntry]


def _theme_lines(rnd: Round) -> list[ThemeLine]:
    return [ThemeLine(rt.theme, rt.is_core) for rt in rnd.themes]


def calendar(
    session: Session, actor: User | None, today: date, past: int = 8
) -> list[PlanCalendar]:
    """Per visible plan: the last ``past`` rounds, the current period and the next one.

    Periods without a round show the themes the plan's policy would choose (a preview).
    """
    out = []
    for plan in list_plans(session, actor):
        rounds = {r.period_label: r for r in _plan_rounds(session, plan)}
        current = period_containing(plan.cadence, today)
        nxt = next_period(plan.cadence, current)
        entries: list[CalendarEntry] = []
        earlier = sorted(
            (r for r in rounds.values() if r.period_start < current.start),
            key=lambda r: r.period_start,
        )[-past:]
        for rnd in earlier:
            entries.append(
                CalendarEntry(
                    Period(rnd.period_start, rnd.period_end, rnd.period_label),
                    rnd,
                    _theme_lines(rnd),
                    "past",
                )
            )
        for period, when in ((current, "current"), (nxt, "next")):
            found = rounds.get(period.label)
            if found is not None:
                lines = _theme_lines(found)
            else:
                lines = [ThemeLine(t, True) for t in plan.core_themes] + [
                    ThemeLine(t, False) for t in choose_rotating(session, plan, period)
                ]
            entries.append(CalendarEntry(period, found, lines, when))
        out.append(PlanCalendar(plan, entries))
    return out


# --------------------------------------------------------------------------------------------
# Scheduled run
# --------------------------------------------------------------------------------------------


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


def acquire_run_lock(session: Session) -> None:
    """Serialise scheduled runs for the rest of the current transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: start the transaction with
    ``BEGIN IMMEDIATE`` (the write lock is taken before anything is read, so a second run waits
    for the first to commit instead of failing halfway). If the SQLite connection already holds
    an open write transaction it holds the database's only write lock already.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RUN_LOCK_KEY})
    elif dialect == "sqlite":
        raw = connection.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def due_periods(plan: SupervisionPlan, today: date) -> list[Period]:
    """Periods the scheduler should have a round for on ``today``.

    The current period and, as catch-up after downtime, the previous one: never further back
    (an older missed round is better created by hand with a fresh decision), and never before
    the plan's first period (``starts_on``).
    """
    current = period_containing(plan.cadence, today)
    first = period_containing(plan.cadence, plan.starts_on).start
    return [p for p in (previous_period(plan.cadence, current), current) if p.start >= first]


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


def _nobody_to_tell(plan: SupervisionPlan, subject: str, report: RunReport) -> None:
    log.warning(
        "Ingen teamleder eller administrator med e-mailadresse for planen %s; "
        "beskeden «%s» sendes, når en adresse er registreret.",
        plan.name,
        subject,
    )
    report.unnotified.append(subject)


def _notify(
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
        _nobody_to_tell(plan, subject, report)
        return 0
    for address in addresses:
        notifications.enqueue(session, address, subject, body)
    report.notified += len(addresses)
    return len(addresses)


def run_due(session: Session, today: date, *, config: Mapping[str, Any] | None = None) -> RunReport:
    """Create, theme and draw every round that is due on ``today``; queue notices and reminders.

    Takes the run lock first (see :func:`acquire_run_lock`); flushes, the caller commits. The
    draw uses the latest snapshot if it is recent enough for the period, otherwise the round
    waits (``waiting_reason``) and the leaders are told. Rounds that wait are drawn by a later
    run as soon as a recent snapshot exists. Rounds of leader-choice plans get the top
    suggestions as provisional themes and the leaders are asked to confirm or choose. Notices
    nobody could be sent (no e-mail address) are retried by later runs.
    """
    acquire_run_lock(session)
    policy = ReminderPolicy.from_config(config or {})
    report = RunReport()
    plans = session.scalars(
        select(SupervisionPlan).where(SupervisionPlan.active.is_(True)).order_by(SupervisionPlan.id)
    ).all()
    for plan in plans:
        for period in due_periods(plan, today):
            rnd = round_for(session, plan, period.label)
            label = f"{plan.name} {period.label}"
            if rnd is None:
                rnd = create_round(
                    session,
                    None,
                    plan,
                    period,
                    today=today,
                    provisional=plan.rotation_mode == "leader_choice",
                )
                report.created.append(label)
            if rnd.status == PLANNED and rnd.draw_id is None:
                _draw_or_wait(session, plan, rnd, label, report)
            if rnd.themes_provisional and not rnd.themes_notified:
                _ask_for_themes(session, plan, rnd, label, report)
    _send_reminders(session, today, policy, report)
    return report


def _draw_or_wait(
    session: Session, plan: SupervisionPlan, rnd: Round, label: str, report: RunReport
) -> None:
    snapshot = latest_snapshot(session)
    reason: str | None = None
    if snapshot is None:
        reason = "Der er intet sagsudtræk. Indlæs et udtræk, så trækkes stikprøven."
    elif not snapshot_is_recent(plan, rnd.period_start, snapshot):
        reason = (
            f"Det nyeste sagsudtræk er fra {snapshot.as_of:%d-%m-%Y}, mere end "
            f"{plan.snapshot_max_age_days} dage før rundens start. Indlæs et nyere udtræk."
        )
    else:
        try:
            # The sampling service validates everything before it writes, so a refusal
            # leaves nothing half-stored in the transaction.
            draw = draw_round(session, None, rnd, snapshot=snapshot)
        except ValueError as exc:
            reason = f"Stikprøven kunne ikke trækkes: {exc}"
        else:
            report.drawn.append(f"{label} (stikprøve {draw.id}, {draw.sample_size} sager)")
            return
    if rnd.waiting_reason != reason:
        rnd.waiting_reason = reason
        rnd.waiting_notified = False
        report.waiting.append(f"{label}: {reason}")
    if rnd.waiting_notified:
        return  # already waiting for the same reason; the leaders were told
    sent = _notify(
        session,
        plan,
        f"Tilsynsrunde {label} venter",
        f"Tilsynsrunden {label} er oprettet, men stikprøven er ikke trukket.\n\n{reason}\n",
        report,
    )
    rnd.waiting_notified = sent > 0
    session.flush()


def _ask_for_themes(
    session: Session, plan: SupervisionPlan, rnd: Round, label: str, report: RunReport
) -> None:
    """Ask the leaders of a leader-choice plan to confirm or choose the round's themes."""
    if rnd.status not in (PLANNED, DRAWN):
        return
    picked = [rt.theme.name for rt in rnd.themes if not rt.is_core]
    core = [rt.theme.name for rt in rnd.themes if rt.is_core]
    body = (
        f"Tilsynsrunden {label} er oprettet. Planen lader lederen vælge de roterende temaer.\n\n"
        f"Foreløbigt valgt (ikke stillet i længst tid): {', '.join(picked) or 'ingen'}.\n"
        f"Fast kerne: {', '.join(core) or 'ingen'}.\n\n"
        "Bekræft eller vælg andre temaer på rundens side under Tilsynsrunder, før "
        "gennemgangen begynder.\n"
    )
    sent = _notify(session, plan, f"Vælg temaer for tilsynsrunde {label}", body, report)
    if sent:
        rnd.themes_notified = True
        report.asked.append(f"{label}: {', '.join(picked) or 'ingen'}")
    session.flush()


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


def _send_reminders(
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
            _nobody_to_tell(rnd.plan, subject, report)
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
        _notify(
            session,
            rnd.plan,
            subject,
            f"Fristen for gennemgangen af tilsynsrunden {label} er {when}.\n"
            f"Runden har status: {status}.\n",
            report,
        )
