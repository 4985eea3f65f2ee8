"""Feedback on the pages of the packages below it: the review form's previous rounds and open
actions, the round page's feedback summary, the caseworker's start page box."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import make_org_snapshot
from tests.feedback.test_next_round import _first_round_with_open_action
from tilsyn.feedback import release
from tilsyn.feedback.models import FeedbackRelease
from tilsyn.rounds.models import Round
from tilsyn.rounds.periods import period_containing
from tilsyn.rounds.rounds import create_round, draw_round
from tilsyn.sampling.models import DrawItem


def test_review_form_shows_previous_rounds_and_open_action(login_as, session, org):
    plan, action = _first_round_with_open_action(session, org)
    admin = org.users["admin"]
    snapshot = make_org_snapshot(session, org, date(2026, 10, 1))
    nxt = create_round(session, admin, plan, period_containing("quarterly", date(2026, 10, 1)))
    draw_round(session, admin, nxt, snapshot=snapshot, seed=3, prior_findings={})
    item = session.scalars(
        select(DrawItem).where(
            DrawItem.draw_id == nxt.draw_id, DrawItem.caseworker_id == org.cw_a1.id
        )
    ).first()
    other = session.scalars(
        select(DrawItem).where(
            DrawItem.draw_id == nxt.draw_id, DrawItem.caseworker_id == org.cw_a2.id
        )
    ).first()
    session.commit()
    client = login_as("leder")
    html = client.get(f"/gennemgang/runder/{nxt.id}/sager/{item.id}").get_data(as_text=True)
    assert "Tidligere runde 2026-K3: ikke i orden (1 af 1 sager ikke i orden)" in html
    assert f"opfølgning #{action.id} åben, frist 30-09-2026" in html
    # AAB had no review and no action: no hints on their form.
    html = client.get(f"/gennemgang/runder/{nxt.id}/sager/{other.id}").get_data(as_text=True)
    assert "Tidligere runde" not in html and "opfølgning #" not in html


def test_round_page_summary_and_caseworker_start_box(login_as, session, org):
    plan, _action = _first_round_with_open_action(session, org)
    rnd = session.scalar(select(Round).where(Round.plan_id == plan.id))
    release.release(session, org.users["leder"], rnd.id)
    session.commit()
    html = login_as("leder").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert "Feedback til sagsbehandlerne" in html
    # A director sees the round page without the per-caseworker feedback table.
    html = login_as("direktoer").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert "Feedback til sagsbehandlerne" not in html
    client = login_as("sagsbehandler")
    html = client.get("/mine-sager").get_data(as_text=True)
    assert "Du har 1 ulæst feedback fra tilsynet." in html
    assert f"/min-feedback/{session.scalar(select(FeedbackRelease.id))}" in html  # the case
    assert "1 åbent opfølgningspunkt" in html
    client.get("/min-feedback")
    rel = session.scalar(select(FeedbackRelease))
    client.get(f"/min-feedback/{rel.id}")
    html = client.get("/mine-sager").get_data(as_text=True)
    assert "ulæst feedback" not in html and "1 åbent opfølgningspunkt" in html
