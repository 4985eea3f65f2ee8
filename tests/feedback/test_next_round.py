"""The other branch of the loop: a caseworker with a follow-up action still open at the snapshot
date gets n + f cases in the next round's draw, the draw records why, and it replays."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
from tilsyn.feedback import actions, plans
from tilsyn.feedback.loop import followup_allowance, open_action_counts
from tilsyn.reviews import recording
from tilsyn.rounds.models import Round
from tilsyn.rounds.periods import period_containing
from tilsyn.rounds.rounds import create_round, draw_round
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.sampling.verify import verify

F = 2


def _first_round_with_open_action(session, org):
    """Round 2026-K3 drawn, one of AAA's cases reviewed with findings, an action due
    30-09-2026 still open; the plan's f = 2."""
    setup_catalogue_and_model(session, org)
    admin = org.users["admin"]
    plan = make_plan(session, org)
    plans.save_settings(session, admin, plan.id, "acknowledge", F)
    snapshot = make_org_snapshot(session, org, date(2026, 7, 1))
    rnd = create_round(session, admin, plan, period_containing("quarterly", date(2026, 7, 1)))
    draw_round(session, admin, rnd, snapshot=snapshot, seed=11, prior_findings={})
    item = session.scalars(
        select(DrawItem).where(
            DrawItem.draw_id == rnd.draw_id, DrawItem.caseworker_id == org.cw_a1.id
        )
    ).first()
    points = recording.applicable_points(recording.review_form_items(session, rnd, item))
    answers = {
        cp.id: (next(o.id for o in cp.scale.options if o.outcome == "not_in_order"), "")
        for cp in points
    }
    reasons = {cp.id: "Sagen viser andet end udtrækket" for cp in points}
    review = recording.save_review(session, admin, rnd.id, item.id, answers, "", True, reasons)
    action = actions.create_action(
        session,
        org.users["leder"],
        review.id,
        description="Ret jobmålet",
        owner="caseworker",
        due_date=date(2026, 9, 30),
        today=date(2026, 8, 1),
        control_point_id=points[0].id,
    )
    session.commit()
    return plan, action


def _sizes(session, draw: Draw) -> dict[int, int]:
    return dict(
        session.execute(
            select(DrawItem.caseworker_id, func.count())
            .where(DrawItem.draw_id == draw.id)
            .group_by(DrawItem.caseworker_id)
        ).all()
    )


def test_open_action_at_the_snapshot_date_gives_n_plus_f_and_the_draw_says_why(session, org):
    plan, action = _first_round_with_open_action(session, org)
    admin = org.users["admin"]
    snapshot = make_org_snapshot(session, org, date(2026, 10, 1))
    extra = followup_allowance(session, plan.id, snapshot.as_of)
    assert list(extra) == [org.cw_a1.id]
    nxt = create_round(session, admin, plan, period_containing("quarterly", date(2026, 10, 1)))
    draw = draw_round(
        session,
        admin,
        nxt,
        snapshot=snapshot,
        seed=12,
        prior_findings={},
        open_actions=open_action_counts(session, snapshot.as_of),
        extra_cases=extra,
    )
    # n = 2 for AAA plus f = 2; AAB is new (m = 3); Team B is not in the plan.
    assert _sizes(session, draw) == {org.cw_a1.id: 2 + F, org.cw_a2.id: 3}
    reasons = {e["caseworker_id"]: e["reason"] for e in draw.params["caseworker_sizes"]}
    assert reasons[org.cw_a1.id].startswith(
        f"n = 2 + {F} (overskredet opfølgningspunkt #{action.id}"
    )
    assert reasons[org.cw_a2.id].startswith("ny sagsbehandler")
    assert draw.params["extra_cases"] == [
        {"caseworker_id": org.cw_a1.id, "extra": F, "reason": extra[org.cw_a1.id].reason}
    ]
    assert draw.caseworker_facts[str(org.cw_a1.id)]["open_followup_actions"] == 1.0
    assert draw.caseworker_facts[str(org.cw_a2.id)]["open_followup_actions"] == 0.0
    assert verify(session, draw).ok


def test_approved_before_the_snapshot_date_gives_plain_n(session, org):
    plan, action = _first_round_with_open_action(session, org)
    actions.mark_done(session, org.users["sagsbehandler"], action.id, "Gjort")
    actions.approve(session, org.users["leder"], action.id, date(2026, 9, 20))
    snapshot = make_org_snapshot(session, org, date(2026, 10, 1))
    assert followup_allowance(session, plan.id, snapshot.as_of) == {}


def test_the_scheduler_run_draws_the_next_round_with_the_allowance(app, session, org):
    from tilsyn import scheduler

    plan, action = _first_round_with_open_action(session, org)
    make_org_snapshot(session, org, date(2026, 10, 1))
    session.commit()
    scheduler.run_due_once(app, date(2026, 10, 2))
    session.expire_all()
    nxt = session.scalar(
        select(Round).where(Round.plan_id == plan.id, Round.period_label == "2026-K4")
    )
    assert nxt is not None and nxt.draw_id is not None
    draw = session.get(Draw, nxt.draw_id)
    assert _sizes(session, draw)[org.cw_a1.id] == 2 + F
    assert f"#{action.id}" in draw.params["extra_cases"][0]["reason"]


@pytest.mark.parametrize("counts", [None, {}])
def test_open_actions_attribute_is_unknown_without_counts_and_zero_when_none(session, org, counts):
    from tilsyn.risk.population import load_population

    setup_catalogue_and_model(session, org)
    snapshot = make_org_snapshot(session, org, date(2026, 10, 1), per_caseworker=2)
    pop = load_population(session, snapshot, prior_findings={}, open_actions=counts)
    values = pop.attributes["open_followup_actions"]
    assert len(values) == 8
    if counts is None:
        assert all(v != v for v in values.tolist())  # NaN: unknown
    else:
        assert values.tolist() == [0.0] * 8
