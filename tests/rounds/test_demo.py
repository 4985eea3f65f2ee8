"""Demo history and the acceptance run on the first day of the next quarter."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
from sqlalchemy import select

from tests.factories import make_org_snapshot
from tilsyn.cases.models import Case
from tilsyn.demo import build_demo
from tilsyn.rounds.demo import add_demo_rounds
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.periods import next_period, period_containing
from tilsyn.rounds.scheduled import run_due

TODAY = date(2026, 11, 23)


def test_demo_history_then_next_quarter_creates_one_round_per_plan(session, org):
    make_org_snapshot(session, org, TODAY)
    add_demo_rounds(session, org.users["admin"], np.random.default_rng(7), TODAY)
    session.commit()
    plans = session.scalars(select(SupervisionPlan).order_by(SupervisionPlan.name)).all()
    assert [p.unit_id for p in plans] == [org.unit_a.id, org.unit_b.id]
    for plan in plans:
        rounds = session.scalars(
            select(Round).where(Round.plan_id == plan.id).order_by(Round.period_start)
        ).all()
        assert [r.status for r in rounds] == [RoundStatus.CLOSED] * 8 + [RoundStatus.IN_REVIEW]
        assert rounds[-1].period_label == "2026-K4" and rounds[0].period_label == "2024-K4"
        assert rounds
        assert all(r.draw is not None for r in rounds)
        # Rotation: consecutive rounds ask different rotating themes; the core never changes.
        rot = [tuple(rt.theme_id for rt in r.themes if not rt.is_core) for r in rounds]
        assert len(rot) > 1
        assert all(a != b for a, b in itertools.pairwise(rot))
        cores = {tuple(rt.theme_id for rt in r.themes if rt.is_core) for r in rounds}
        assert len(cores) == 1
    first_day = next_period("quarterly", period_containing("quarterly", TODAY)).start
    report = run_due(session, first_day, prior_findings={})
    session.commit()
    assert len(report.created) == len(plans) == len(report.drawn)
    again = run_due(session, first_day, prior_findings={})
    session.commit()
    assert again.created == [] and again.drawn == []
    new = session.scalars(select(Round).where(Round.period_label == "2027-K1")).all()
    assert sorted(r.plan_id for r in new) == [p.id for p in plans]
    assert new
    assert all(r.status == RoundStatus.DRAWN for r in new)


def test_full_demo_has_a_quarterly_plan_per_team_with_eight_past_rounds(session):
    """The real demo: per team a quarterly plan with fixed core plus rotating themes, covering
    the team's schemes, eight past quarters of closed rounds with draws and the current one."""
    summary = build_demo(session, seed=5, password="pwpwpwpw", today=TODAY)
    session.commit()
    plans = session.scalars(select(SupervisionPlan).order_by(SupervisionPlan.name)).all()
    assert len(plans) == summary.units
    current = period_containing("quarterly", TODAY)
    for plan in plans:
        assert plan.cadence == "quarterly" and plan.rotation_mode == "sequence"
        team_schemes = set(
            session.scalars(
                select(Case.scheme).where(
                    Case.snapshot_id == summary.snapshot_id, Case.unit_id == plan.unit_id
                )
            )
        )
        assert plan.schemes and set(plan.schemes) == team_schemes
        assert plan.core_themes and len(plan.rotating) > plan.rotating_per_round >= 1
        rounds = session.scalars(
            select(Round).where(Round.plan_id == plan.id).order_by(Round.period_start)
        ).all()
        assert [r.status for r in rounds] == [RoundStatus.CLOSED] * 8 + [RoundStatus.IN_REVIEW]
        assert rounds[-1].period_label == current.label
        assert rounds
        assert all(r.draw is not None and r.draw.sample_size > 0 for r in rounds)
        codes = [t.code for t in plan.rotating_themes]
        asked = []
        for rnd in rounds:
            rotating = [rt for rt in sorted(rnd.themes, key=lambda rt: rt.position)]
            asked += [rt.theme.code for rt in rotating if not rt.is_core]
            points = [rcp.control_point for rcp in rnd.control_points]
            # Only questions for the team's schemes, and every theme asks at least one.
            assert points
            assert all(not p.schemes or set(p.schemes) & team_schemes for p in points)
            assert {p.theme_id for p in points} == {rt.theme_id for rt in rnd.themes}
        # The rotation walks round the plan's list in order, across the wrap.
        assert asked == [codes[i % len(codes)] for i in range(len(asked))]
    fleks = next(p for p in plans if p.unit is not None and p.unit.name == "Fleksjob")
    assert set(fleks.schemes) == {"fleksjob", "ledighedsydelse"}
    for rnd in session.scalars(select(Round).where(Round.plan_id == fleks.id)):
        assert not any(rcp.control_point.schemes == ["sygedagpenge"] for rcp in rnd.control_points)
