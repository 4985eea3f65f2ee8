"""Demo history and the acceptance run on the first day of the next quarter."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
from sqlalchemy import select

from tests.rounds.factories import make_snapshot
from tilsyn.rounds import services
from tilsyn.rounds.demo import add_demo_rounds
from tilsyn.rounds.models import CLOSED, DRAWN, IN_REVIEW, Round, SupervisionPlan
from tilsyn.rounds.periods import next_period, period_containing

TODAY = date(2026, 11, 23)


def test_demo_history_then_next_quarter_creates_one_round_per_plan(session, org):
    make_snapshot(session, org, TODAY)
    add_demo_rounds(session, org.users["admin"], np.random.default_rng(7), TODAY)
    session.commit()
    plans = session.scalars(select(SupervisionPlan).order_by(SupervisionPlan.name)).all()
    assert [p.unit_id for p in plans] == [org.unit_a.id, org.unit_b.id]
    for plan in plans:
        rounds = session.scalars(
            select(Round).where(Round.plan_id == plan.id).order_by(Round.period_start)
        ).all()
        assert [r.status for r in rounds] == [CLOSED] * 8 + [IN_REVIEW]
        assert rounds[-1].period_label == "2026-K4" and rounds[0].period_label == "2024-K4"
        assert all(r.draw is not None for r in rounds)
        # Rotation: consecutive rounds ask different rotating themes; the core never changes.
        rot = [tuple(rt.theme_id for rt in r.themes if not rt.is_core) for r in rounds]
        assert all(a != b for a, b in itertools.pairwise(rot))
        cores = {tuple(rt.theme_id for rt in r.themes if rt.is_core) for r in rounds}
        assert len(cores) == 1
    first_day = next_period("quarterly", period_containing("quarterly", TODAY)).start
    report = services.run_due(session, first_day)
    session.commit()
    assert len(report.created) == len(plans) == len(report.drawn)
    again = services.run_due(session, first_day)
    session.commit()
    assert again.created == [] and again.drawn == []
    new = session.scalars(select(Round).where(Round.period_label == "2027-K1")).all()
    assert sorted(r.plan_id for r in new) == [p.id for p in plans]
    assert all(r.status == DRAWN for r in new)
