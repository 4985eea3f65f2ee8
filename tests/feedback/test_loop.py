"""Closing the loop as plain data: the follow-up allowance, open actions per caseworker, and the
previous rounds' answers with open actions for the review form."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import SampledCase, make_draw, make_round
from tests.feedback.factories import TODAY, setup_round
from tilsyn.feedback import actions, loop, plans


def _action(session, s, created, due):
    return actions.create_action(
        session,
        s.org.users["leder"],
        s.reviews[0].id,
        description="Ret jobmålet",
        owner="caseworker",
        due_date=due,
        today=created,
        control_point_id=s.points["JOBMAAL-01"].id,
    )


def test_allowance_counts_actions_open_at_the_snapshot_date(session, org):
    s = setup_round(session, org)
    leader = org.users["leder"]
    assert loop.followup_allowance(session, s.round.plan_id, TODAY) == {}  # f = 0
    plans.save_settings(session, leader, s.round.plan_id, "acknowledge", 2)
    assert loop.followup_allowance(session, s.round.plan_id, TODAY) == {}  # no actions
    first = _action(session, s, TODAY, TODAY + timedelta(days=10))
    got = loop.followup_allowance(session, s.round.plan_id, TODAY + timedelta(days=20))
    assert list(got) == [org.cw_a1.id]
    assert got[org.cw_a1.id].extra == 2
    assert "overskredet" in got[org.cw_a1.id].reason and f"#{first.id}" in got[org.cw_a1.id].reason
    # Created after the snapshot date: not counted.
    assert loop.followup_allowance(session, s.round.plan_id, TODAY - timedelta(days=1)) == {}
    # Done but not approved: still open; approved: closed from that day on.
    actions.mark_done(session, org.users["sagsbehandler"], first.id, "Gjort")
    assert loop.open_action_counts(session, TODAY + timedelta(days=5)) == {org.cw_a1.id: 1}
    actions.approve(session, leader, first.id, TODAY + timedelta(days=6))
    assert loop.open_action_counts(session, TODAY + timedelta(days=5)) == {org.cw_a1.id: 1}
    assert loop.open_action_counts(session, TODAY + timedelta(days=6)) == {}
    assert loop.followup_allowance(session, s.round.plan_id, TODAY + timedelta(days=7)) == {}


def test_review_hints_show_previous_answers_and_open_actions(session, org):
    s = setup_round(session, org)
    action = _action(session, s, TODAY, date(2027, 1, 15))
    draw = make_draw(session, org, [SampledCase(org.cw_a1, "sygedagpenge", 0.5)], tag="b")
    nxt = make_round(
        session,
        s.round.plan,
        draw,
        [s.points["JOBMAAL-01"], s.points["SAMLET-01"]],
        label="2026-K4",
        start=date(2026, 10, 1),
    )
    hints = loop.review_hints(session, nxt.id, org.cw_a1.id)
    job = hints["JOBMAAL-01"]
    assert job.previous == ["2026-K3: ikke i orden (2 af 2 sager ikke i orden)"]
    assert job.actions == [f"opfølgning #{action.id} åben, frist 15-01-2027"]
    assert hints["SAMLET-01"].previous == ["2026-K3: i orden (0 af 2 sager ikke i orden)"]
    # Another caseworker's history is not mixed in; the first round has no earlier rounds.
    assert loop.review_hints(session, nxt.id, org.cw_a2.id) == {}
    assert loop.review_hints(session, s.round.id, org.cw_a1.id).get("SAMLET-01") is None
