"""The themes of a round: the plan's rotation in a fixed order, ranked suggestions for the
leader's choice, and setting a round's themes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import Theme
from tilsyn.catalogue.points import current_points
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import (
    RotationMode,
    Round,
    RoundControlPoint,
    RoundStatus,
    RoundTheme,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Period


def plan_rounds(session: Session, plan: SupervisionPlan, before: date | None = None) -> list[Round]:
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
    for rnd in plan_rounds(session, plan, before):
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
    for rnd in plan_rounds(session, plan, before):
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
    if plan.rotation_mode == RotationMode.LEADER_CHOICE:
        count = min(plan.rotating_per_round, len(plan.rotating))
        if count <= 0:
            return []
        return [s.theme for s in rank_by_recency(session, plan, period.start)[:count]]
    return sequence_themes(session, plan, period.start)


def assign_themes(
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
    points = current_points(session, theme_ids, plan.schemes or ())
    rnd.control_points = [
        RoundControlPoint(control_point=p, is_core=p.theme_id in core_ids) for p in points
    ]


def too_many_rotating_message(plan: SupervisionPlan) -> str:
    return ngettext(
        "Planen har højst %(num)d roterende tema pr. runde.",
        "Planen har højst %(num)d roterende temaer pr. runde.",
        plan.rotating_per_round,
    )


def set_round_themes(
    session: Session, actor: User | None, rnd: Round, rotating_theme_ids: Sequence[int]
) -> Round:
    """Change the rotating themes of a round that is not yet under review."""
    if rnd.status not in (RoundStatus.PLANNED, RoundStatus.DRAWN):
        raise RoundError(_("Temaerne kan kun ændres, før gennemgangen er startet."))
    plan = rnd.plan
    allowed = {t.id: t for t in plan.rotating_themes}
    chosen = list(dict.fromkeys(rotating_theme_ids))
    if any(tid not in allowed for tid in chosen):
        raise RoundError(_("Vælg blandt planens roterende temaer."))
    if len(chosen) > max(plan.rotating_per_round, 0):
        raise RoundError(too_many_rotating_message(plan))
    was_provisional = rnd.themes_provisional
    assign_themes(session, rnd, plan, [allowed[tid] for tid in chosen])
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
