"""The round calendar: each plan's past, current and coming periods with their themes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.catalogue.models import Theme
from tilsyn.rounds.models import (
    Round,
    SupervisionPlan,
)
from tilsyn.rounds.periods import Period, next_period, period_containing
from tilsyn.rounds.plans import list_plans
from tilsyn.rounds.themes import choose_rotating, plan_rounds


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


def plan_calendars(
    session: Session, actor: User | None, today: date, past: int = 8
) -> list[PlanCalendar]:
    """Per visible plan: the last ``past`` rounds, the current period and the next one.

    Periods without a round show the themes the plan's policy would choose (a preview).
    """
    out = []
    for plan in list_plans(session, actor):
        rounds = {r.period_label: r for r in plan_rounds(session, plan)}
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
